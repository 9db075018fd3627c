// Package ccp is the PPTP server's Compression Control Protocol (RFC
// 1962) for one purpose: negotiating MPPE encryption (RFC 3078 section 2,
// option 18 of RFC 2118). It is a ppp.Handler and ppp.Extension for
// ppp.Automaton, and a codec for the CCP options.
//
// # Negotiation
//
// The option carries four Supported Bits octets: H (stateless,
// 0x01000000), M (56-bit, 0x80), S (128-bit, 0x40), L (40-bit, 0x20), D
// (obsolete, 0x10) and C (MPPC compression, 0x01). In CCP each
// Configure-Request states what its sender will receive, so the two
// directions are negotiated apart ([Result.Send], [Result.Receive]).
//
// Our request asks for H and every key length the Policy allows: S alone
// by default, S, M and L when 56- and 40-bit are allowed. The peer Naks it
// down to the one it takes. (Asking for S alone whatever the Policy, as
// this package once did, fails with Linux pppd set to require-mppe-40: it
// strips the lengths it refuses from our request and hangs up when none is
// left, rather than Naking.) A peer that Acks several lengths uses, in
// [Result.Receive], the one it asked for itself, else the strongest, so
// that both directions use one.
//
// The peer's request is acknowledged when it has exactly one allowed key
// length, H unless stateful mode is allowed, and nothing else. Otherwise
// it is Naked with what the server wants: the strongest allowed length
// among those offered, else 128-bit; H when required or offered; never C
// or D. 40- and 56-bit keys are refused unless Policy.Allow40 or Allow56
// (pptp.mppe.bits_40, bits_56), stateful mode unless Policy.Stateless is
// StatelessPreferred (pptp.mppe.stateful). MPPC compression is not
// implemented and never offered. After Max-Failure Naks the automaton
// would reject the option, leaving the link unencrypted; instead CCP
// closes with a [RefusedError] that says what the peer insists on and
// what would allow it: "peer insists on
// 40-bit MPPE, which is refused (enable pptp.mppe.bits_40 to allow it)".
//
// Every other compression option (Deflate, BSD-Compress, Stac, ...) is
// rejected. When MPPE is required and the peer sends no MPPE option, it
// is suggested in a Nak; a peer that never takes the hint closes CCP
// with [ErrNoMPPE], one that rejects ours with [ErrMPPERejected].
//
// # When MPPE is required and CCP fails
//
// RFC 3078 section 2 says a link whose MPPE negotiation fails SHOULD be
// terminated. [Negotiator.Err] is the session loop's answer: non-nil,
// wrapping [ErrMPPERequired] and the reason, once CCP has finished for
// any reason (refused settings, no answer, the peer's Terminate-Request
// or Protocol-Reject) while MPPE is required. The session closes LCP with
// it when CCP reports This-Layer-Finished, and must not pass IP traffic
// before CCP is up.
//
// # Stateful mode
//
// In stateful mode a receiver that loses packets asks for a
// resynchronisation with a CCP Reset-Request ([Negotiator.ResetRequest]);
// the sender sets the flushed bit on its next packet. The negotiator
// answers a peer's Reset-Request in Opened with a Reset-Ack of the same
// Identifier, as RFC 1962 section 3.1 asks and pppd does (Microsoft's
// stack relies on the flushed bit alone and a peer that Code-Rejects the
// Ack gets no more), and tells the session through OnResetRequest.
package ccp
