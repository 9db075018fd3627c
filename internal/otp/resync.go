package otp

import (
	"crypto/subtle"
	"math"
	"time"
)

// MaxResync bounds how far a resynchronisation searches: counters ahead
// for HOTP, steps either side for TOTP. Each is one HMAC.
const MaxResync = 10000

// ResyncHOTP finds a token whose counter ran ahead of the window, from two
// codes the user read one after the other (RFC 4226 section 7.4): code1 at
// some counter c and code2 at c+1, with Counter <= c and c+1 <= Counter+
// maxLookAhead (maxLookAhead 1..MaxResync). It returns the state with
// Counter = c+2, both codes used, and true; or st and false. The lowest
// such c wins.
//
// A single code that far ahead proves little (one in a million matches by
// chance at each counter); two consecutive ones prove the token.
func ResyncHOTP(secret []byte, p Params, st State, code1, code2 string, maxLookAhead int) (State, bool) {
	if len(secret) == 0 || p.Validate() != nil || p.Kind != HOTP ||
		maxLookAhead < 1 || maxLookAhead > MaxResync ||
		len(code1) != p.digits() || len(code2) != p.digits() {
		return st, false
	}
	key, opts := b32.EncodeToString(secret), p.opts()
	prev := false // whether code1 is the code of counter c-1
	for i := 0; i <= maxLookAhead; i++ {
		c := st.Counter + uint64(i)
		if c == math.MaxUint64 {
			break // never offered, as in Candidates
		}
		cur := code(key, opts, c)
		if prev && eq(cur, code2) {
			st.Counter = c + 1
			return st, true
		}
		prev = eq(cur, code1)
	}
	return st, false
}

// ResyncTOTP finds a token whose clock is more than the window away, from
// two codes the user read one after the other: code1 at step s-1 and
// code2 at s, both within Step(now)±maxSteps (maxSteps 1..MaxResync) and
// after LastStep. It returns the state with LastStep = s and Drift =
// s-Step(now), and true; or st and false. The s nearest to Step(now)
// wins, the past before the future. Drift is learnt afresh, not added to:
// resynchronising a token whose clock was fixed sets it back to 0.
func ResyncTOTP(secret []byte, p Params, st State, code1, code2 string, now time.Time, maxSteps int) (State, bool) {
	if len(secret) == 0 || p.Validate() != nil || p.Kind != TOTP ||
		maxSteps < 1 || maxSteps > MaxResync ||
		len(code1) != p.digits() || len(code2) != p.digits() {
		return st, false
	}
	t := Step(p, now)
	if t < 0 || t > math.MaxInt64-MaxResync {
		return st, false
	}
	// codes[i] is the code at step lo+i; entries never computed stay "".
	lo := t - int64(maxSteps)
	codes := make([]string, 2*maxSteps+1)
	key, opts := b32.EncodeToString(secret), p.opts()
	at := func(s int64) string {
		i := s - lo
		if codes[i] == "" {
			codes[i] = code(key, opts, uint64(s))
		}
		return codes[i]
	}
	for i := 0; i <= 2*maxSteps; i++ {
		s := t + int64(nearest(i))
		if s-1 < lo || s-1 <= st.LastStep || s-1 < 0 {
			continue
		}
		if eq(at(s-1), code1) && eq(at(s), code2) {
			st.LastStep, st.Drift = s, s-t
			return st, true
		}
	}
	return st, false
}

// eq compares two codes in constant time.
func eq(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
