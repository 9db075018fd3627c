package otp

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"math"
	"time"
)

// State is what a verifier remembers about one token between logins. The
// caller stores it and passes it back in; nothing here keeps it.
type State struct {
	// Counter is the next HOTP counter expected: every counter below it
	// has been used. A fresh token starts at 0 (or at the counter its
	// otpauth:// URI names).
	Counter uint64
	// LastStep is the last TOTP step accepted; it and every step before
	// it are used. -1 means none yet; the zero State works as well, since
	// step 0 lies at T0.
	LastStep int64
	// Drift is how many steps the token's clock runs ahead of ours
	// (negative: behind). Candidates centres the TOTP window on
	// Step(now)+Drift; Accept and ResyncTOTP learn it.
	Drift int64
}

// Window says how far from the expected code a verifier looks. The values
// are taken as they are: Skew 0 means the centre step only, LookAhead 0 the
// expected counter only. [DefaultWindow] holds the usual values.
type Window struct {
	// Skew is how many TOTP steps either side of the centre are accepted:
	// Skew 1 accepts 3 codes. RFC 6238 section 5.2 recommends at most 1.
	Skew int
	// LookAhead is how many HOTP counters beyond State.Counter are
	// accepted, for button presses that never reached us (RFC 4226
	// section 7.4): LookAhead 20 accepts 21 codes.
	LookAhead int
}

// DefaultWindow is one step either side and twenty presses ahead.
var DefaultWindow = Window{Skew: 1, LookAhead: 20}

// Bounds of a Window; they match the configuration's limits.
const (
	MaxSkew      = 10
	MaxLookAhead = 1000
)

// Validate reports whether w is within 0..MaxSkew and 0..MaxLookAhead.
func (w Window) Validate() error {
	if w.Skew < 0 || w.Skew > MaxSkew {
		return fmt.Errorf("TOTP skew %d: want 0 to %d steps", w.Skew, MaxSkew)
	}
	if w.LookAhead < 0 || w.LookAhead > MaxLookAhead {
		return fmt.Errorf("HOTP look-ahead %d: want 0 to %d counters", w.LookAhead, MaxLookAhead)
	}
	return nil
}

// Candidate is one code acceptable now and where it sits.
//
// Its Code is a valid one-time password, so a Candidate prints and logs
// without it: fmt and slog show only Counter and Offset.
type Candidate struct {
	Code string
	// Counter is the HOTP counter or the TOTP step the code belongs to.
	Counter uint64
	// Offset is how far the code is from what was expected: TOTP steps
	// from the centre of the window (negative: the token is behind), HOTP
	// counters beyond State.Counter.
	Offset int
}

// String implements fmt.Stringer without the code.
func (c Candidate) String() string {
	return fmt.Sprintf("{Code:REDACTED Counter:%d Offset:%d}", c.Counter, c.Offset)
}

// GoString implements fmt.GoStringer without the code.
func (c Candidate) GoString() string {
	return fmt.Sprintf("otp.Candidate{Code:REDACTED, Counter:%d, Offset:%d}", c.Counter, c.Offset)
}

// Format implements fmt.Formatter so that no verb prints the code.
func (c Candidate) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// LogValue implements slog.LogValuer without the code.
func (c Candidate) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("counter", c.Counter), slog.Int("offset", c.Offset))
}

// Candidates lists the codes acceptable now, used ones left out. For HOTP
// they are counters State.Counter to State.Counter+LookAhead, ascending.
// For TOTP they are steps Step(now)+Drift-Skew to Step(now)+Drift+Skew,
// the centre first, then the nearer before the farther and, at equal
// distance, the past before the future; steps at or before LastStep, and
// negative steps, are left out. The order decides which candidate [Match]
// picks when two share a code.
//
// It returns nil for an empty secret or invalid p or w, and none for a
// clock before T0 or an HOTP counter at its end. The codes are secrets;
// see [Candidate].
func Candidates(secret []byte, p Params, st State, w Window, now time.Time) []Candidate {
	if len(secret) == 0 || p.Validate() != nil || w.Validate() != nil {
		return nil
	}
	key, opts := b32.EncodeToString(secret), p.opts()
	if p.Kind == HOTP {
		cands := make([]Candidate, 0, w.LookAhead+1)
		for i := 0; i <= w.LookAhead; i++ {
			c := st.Counter + uint64(i)
			if c == math.MaxUint64 {
				break // never offered: Accept could not store the counter after it
			}
			cands = append(cands, Candidate{Code: code(key, opts, c), Counter: c, Offset: i})
		}
		return cands
	}

	t := Step(p, now)
	centre := t + st.Drift
	if t < 0 || (st.Drift > 0 && centre < t) || (st.Drift < 0 && centre > t) {
		return nil // a clock before T0, or a drift no clock has
	}
	cands := make([]Candidate, 0, 2*w.Skew+1)
	for i := 0; i <= 2*w.Skew; i++ {
		off := nearest(i)
		s := centre + int64(off)
		if s < 0 || s <= st.LastStep || (off > 0 && s < centre) {
			continue
		}
		cands = append(cands, Candidate{Code: code(key, opts, uint64(s)), Counter: uint64(s), Offset: off})
	}
	return cands
}

// Used lists the codes of the window that were used already, for telling
// a replay from a wrong code: for HOTP the LookAhead counters before
// State.Counter, nearest first; for TOTP the steps of the window at or
// before LastStep. A code that matches one of these (and none of
// [Candidates]) is a replay. Like Candidates it returns nil for invalid
// input; the codes are secrets.
func Used(secret []byte, p Params, st State, w Window, now time.Time) []Candidate {
	if len(secret) == 0 || p.Validate() != nil || w.Validate() != nil {
		return nil
	}
	key, opts := b32.EncodeToString(secret), p.opts()
	var out []Candidate
	if p.Kind == HOTP {
		for i := 1; i <= w.LookAhead && uint64(i) <= st.Counter; i++ {
			c := st.Counter - uint64(i)
			out = append(out, Candidate{Code: code(key, opts, c), Counter: c, Offset: -i})
		}
		return out
	}
	t := Step(p, now)
	centre := t + st.Drift
	if t < 0 || (st.Drift > 0 && centre < t) || (st.Drift < 0 && centre > t) {
		return nil
	}
	for i := 0; i <= 2*w.Skew; i++ {
		off := nearest(i)
		s := centre + int64(off)
		if s < 0 || s > st.LastStep || (off > 0 && s < centre) {
			continue
		}
		out = append(out, Candidate{Code: code(key, opts, uint64(s)), Counter: uint64(s), Offset: off})
	}
	return out
}

// nearest is the i-th offset from a centre, nearer first and the past
// before the future: 0, -1, +1, -2, +2, ...
func nearest(i int) int {
	off := (i + 1) / 2
	if i%2 == 1 {
		return -off
	}
	return off
}

// Match finds code among cands. It compares code with every candidate, in
// constant time for codes of one length, whether or not one matched
// earlier, and returns the first that matched. An empty code matches
// nothing; so does a code of another length than the candidates'. code is
// compared exactly as given: strip spaces before.
func Match(cands []Candidate, code string) (Candidate, bool) {
	if code == "" {
		return Candidate{}, false
	}
	found, at := 0, 0
	for i := range cands {
		eq := subtle.ConstantTimeCompare([]byte(cands[i].Code), []byte(code))
		at = subtle.ConstantTimeSelect(eq&^found, i, at)
		found |= eq
	}
	if found == 0 {
		return Candidate{}, false
	}
	return cands[at], true
}

// Accept is the state after c was used to log in: for HOTP every counter
// up to c.Counter is used; for TOTP every step up to c.Counter is used,
// and the drift moves by c.Offset, so that the window follows a token
// whose clock wanders (RFC 6238 section 6). State never moves backwards:
// accepting an older candidate leaves Counter and LastStep as they were.
func Accept(p Params, st State, c Candidate) State {
	switch p.Kind {
	case HOTP:
		// For the last counter, never offered, c.Counter+1 wraps to 0 and
		// leaves the state alone.
		if c.Counter+1 > st.Counter {
			st.Counter = c.Counter + 1
		}
	case TOTP:
		if c.Counter > math.MaxInt64 {
			return st
		}
		if s := int64(c.Counter); s > st.LastStep {
			st.LastStep = s
			st.Drift += int64(c.Offset)
		}
	}
	return st
}
