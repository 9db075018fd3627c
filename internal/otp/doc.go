// Package otp is the arithmetic of OATH one-time passwords for Gatehouse's
// OATH and DIGIPASS back-ends: which codes a token may show now, which
// one the user typed, and what the verifier must remember so that no code
// works twice. It implements HOTP (RFC 4226) and TOTP (RFC 6238). It holds
// no state, reads no clock and does no I/O: the caller passes the secret,
// the token's [State] and the time, and stores the State it gets back.
//
// # A login
//
//	cands := otp.Candidates(secret, params, st, window, now) // the codes valid now
//	c, ok := otp.Match(cands, typed)                        // which one, if any
//	if ok {
//		st = otp.Accept(params, st, c) // store it before saying yes
//	}
//
// Under MS-CHAPv2 the policy engine never sees the typed code, only a
// response over the whole secret, so it asks a back-end for its candidates
// (the "fragments" of the design), tries each, and then tells the
// back-end which one was used; that is [Accept]. Under plaintext, [Match]
// finds it directly.
//
// # What pquerna/otp gives and what this package adds
//
// Each code is computed by github.com/pquerna/otp's
// hotp.GenerateCodeCustom: HMAC over the 8-octet counter, dynamic
// truncation, modulo 10^digits (RFC 4226 section 5.3); TOTP is the same
// with the time step as counter (RFC 6238 section 4.2). pquerna/otp's
// Validate functions answer only yes or no: they do not say which counter
// or time step matched, and they remember nothing, so they cannot refuse
// a code that was already used. This package adds:
//
//   - which code matched: a [Candidate] carries its counter or step and
//     its distance from the expected one;
//   - replay protection: [State] records the next HOTP counter and the
//     last TOTP step used, and [Candidates] leaves out everything at or
//     before them;
//   - HOTP look-ahead and resynchronisation from two consecutive codes
//     ([ResyncHOTP], RFC 4226 section 7.4);
//   - TOTP clock drift, learnt from every login and from two consecutive
//     codes ([ResyncTOTP], RFC 6238 section 6);
//   - constant-time matching over all candidates ([Match]), and secrets
//     and codes that redact themselves in fmt, slog and JSON ([Secret],
//     [Candidate]);
//   - otpauth:// key URIs for enrolment ([KeyURI], [ParseKeyURI]), in the
//     format authenticator apps read.
//
// # Windows and replay, in plain words
//
// HOTP. The token's button moves its counter; the server's Counter is the
// next one it expects. A code is accepted if it belongs to Counter or up
// to LookAhead counters beyond it (presses the server never saw), lowest
// first. After a login Counter moves past the code used, so that code and
// every earlier one are dead. A token pressed more than LookAhead times
// away is found again by resynchronisation: the user reads two codes in
// a row, and the server searches up to, say, 1000 counters ahead for that
// pair. One code that far out would match by chance too often (about 1 in
// 10^6 per counter tried); two in a row will not.
//
// TOTP. The token shows the code of the current 30-second step. The
// server accepts the step its clock says, moved by the token's learnt
// Drift, and Skew steps either side (1 by default: the code that has just
// gone, for a slow typist, and the next one, for a clock a little fast).
// The centre is tried first, then the nearer steps, the past before the
// future. After a login, that step and every earlier one are dead, even
// if still inside the window: a code works once, and an older code never
// works after a newer one. Accepting a code off the centre moves Drift by
// that many steps, so the window follows a token whose clock wanders, at
// most Skew steps per login (RFC 6238 section 6). A slow typist can so
// pull the centre one step back; the window around it still holds the
// on-time code, which pulls it forward again. A clock more than the
// window off is found again from two consecutive codes within, say, ten
// steps either side ([ResyncTOTP]); this sets Drift afresh, and is also
// how a token whose clock was corrected gets back to Drift 0.
//
// A Window's values are taken literally: Skew 0 accepts the centre step
// only and LookAhead 0 the expected counter only. [DefaultWindow] is
// Skew 1, LookAhead 20; the limits ([MaxSkew], [MaxLookAhead]) are the
// configuration's.
//
// Two candidates of one window can share a code (probability about
// 10^-digits for each pair). [Match] then returns the first in the order
// above, and the other stays acceptable until the window moves past it.
// Every OATH verifier has this bound; it is why the window stays small.
//
// # Failing closed
//
// Nothing here returns an error where a code is computed: an empty secret,
// invalid [Params] or an invalid [Window] yields no code ("" from [Code],
// nil from [Candidates], false from the resynchronisations), and "" never
// matches. Check parameters when the configuration loads, with
// [Params.Validate] and [Window.Validate]. A clock before T0, or an HOTP
// counter at its last value, likewise accepts nothing; the last counter
// (2^64-1) is never offered, so the counter cannot wrap to 0 and revive
// every used code.
//
// # Secrets
//
// Secrets are raw bytes; RFC 4226 section 4 asks for at least 128 bits
// and recommends 160, so enrol new tokens with 20 random bytes. Imported
// tokens with shorter keys (80-bit keys are common) still work. [Secret]
// and [Candidate] print REDACTED in place of the key and the code; a key
// URI holds the secret in base32 and must be treated as one. Errors never
// quote a secret or a key URI.
package otp
