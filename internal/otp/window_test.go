package otp_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

var (
	totp6 = otp.Params{Kind: otp.TOTP, Algorithm: otp.SHA1, Digits: 6, Period: 30 * time.Second}
	hotp6 = otp.Params{Kind: otp.HOTP, Algorithm: otp.SHA1, Digits: 6}
	// now is in the middle of a step.
	now = time.Unix(1_700_000_010, 0)
)

// accepts reports whether code is among the candidates, and at which
// counter or step.
func accepts(secret []byte, p otp.Params, st otp.State, w otp.Window, at time.Time, code string) (uint64, bool) {
	c, ok := otp.Match(otp.Candidates(secret, p, st, w, at), code)
	return c.Counter, ok
}

func TestTOTPSkew(t *testing.T) {
	step := otp.Step(totp6, now)
	fresh := otp.State{LastStep: -1}
	tests := []struct {
		skew   int
		offset int64
		want   bool
	}{
		{1, 0, true},
		{1, -1, true},
		{1, +1, true},
		{1, -2, false},
		{1, +2, false},
		{0, 0, true},
		{0, -1, false},
		{0, +1, false},
		{2, -2, true},
		{2, +2, true},
		{2, +3, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("skew%d/offset%+d", tt.skew, tt.offset), func(t *testing.T) {
			s := step + tt.offset
			got, ok := accepts(seed20, totp6, fresh, otp.Window{Skew: tt.skew}, now, otp.Code(seed20, totp6, uint64(s)))
			if ok != tt.want || (ok && got != uint64(s)) {
				t.Errorf("code of step %+d: matched %v at step %d, want %v at %d", tt.offset, ok, got, tt.want, s)
			}
		})
	}
}

// TestTOTPReplay: a code accepted once is never accepted again, nor is the
// code of any older step; a newer step still is.
func TestTOTPReplay(t *testing.T) {
	step := otp.Step(totp6, now)
	w := otp.DefaultWindow
	st := otp.State{LastStep: -1}
	code := otp.Code(seed20, totp6, uint64(step))

	c, ok := otp.Match(otp.Candidates(seed20, totp6, st, w, now), code)
	if !ok || c.Counter != uint64(step) || c.Offset != 0 {
		t.Fatalf("first use: matched %v at step %d offset %d, want step %d offset 0", ok, c.Counter, c.Offset, step)
	}
	st = otp.Accept(totp6, st, c)
	if st.LastStep != step || st.Drift != 0 {
		t.Fatalf("after Accept: %+v, want LastStep %d, Drift 0", st, step)
	}

	for _, c := range otp.Candidates(seed20, totp6, st, w, now) {
		if int64(c.Counter) <= step {
			t.Errorf("candidate at used step %d (last used %d)", c.Counter, step)
		}
	}
	for _, at := range []time.Time{now, now.Add(10 * time.Second), now.Add(-30 * time.Second)} {
		if _, ok := accepts(seed20, totp6, st, w, at, code); ok {
			t.Errorf("the used code is accepted again at %s", at.Sub(now))
		}
	}
	if _, ok := accepts(seed20, totp6, st, w, now, otp.Code(seed20, totp6, uint64(step-1))); ok {
		t.Error("the code of an older step is accepted after a newer one was used")
	}
	if got, ok := accepts(seed20, totp6, st, w, now, otp.Code(seed20, totp6, uint64(step+1))); !ok || got != uint64(step+1) {
		t.Errorf("the next step's code: matched %v at %d, want step %d", ok, got, step+1)
	}
}

// TestTOTPAcceptLearnsDrift: a code one step ahead moves the window's
// centre one step ahead (RFC 6238 section 6), and never backwards.
func TestTOTPAcceptLearnsDrift(t *testing.T) {
	step := otp.Step(totp6, now)
	w := otp.DefaultWindow
	st := otp.State{LastStep: -1}

	cands := otp.Candidates(seed20, totp6, st, w, now)
	c, ok := otp.Match(cands, otp.Code(seed20, totp6, uint64(step+1)))
	if !ok || c.Offset != 1 {
		t.Fatalf("code of step+1: matched %v with offset %d, want offset +1", ok, c.Offset)
	}
	st = otp.Accept(totp6, st, c)
	if st.Drift != 1 || st.LastStep != step+1 {
		t.Fatalf("after Accept: %+v, want Drift 1, LastStep %d", st, step+1)
	}
	// Centred on step+1, the window now reaches step+2 from the same clock
	// and no longer step-1.
	if _, ok := accepts(seed20, totp6, st, w, now, otp.Code(seed20, totp6, uint64(step+2))); !ok {
		t.Error("after drift +1, the code of step+2 is not accepted")
	}
	// Accepting an older candidate changes nothing.
	if got := otp.Accept(totp6, st, cands[0]); got != st {
		t.Errorf("Accept of an older step moved the state from %+v to %+v", st, got)
	}
}

func TestTOTPOrder(t *testing.T) {
	step := otp.Step(totp6, now)
	cands := otp.Candidates(seed20, totp6, otp.State{LastStep: -1, Drift: 5}, otp.Window{Skew: 2}, now)
	var got []int64
	for _, c := range cands {
		got = append(got, int64(c.Counter)-step)
		if want := otp.Code(seed20, totp6, c.Counter); c.Code != want {
			t.Errorf("step %d: candidate code differs from Code", c.Counter)
		}
		if int64(c.Offset) != int64(c.Counter)-step-5 {
			t.Errorf("step %d: offset %d, want %d", c.Counter, c.Offset, int64(c.Counter)-step-5)
		}
	}
	if want := []int64{5, 4, 6, 3, 7}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("steps relative to now: %v, want %v (centre, then nearer, past first)", got, want)
	}
}

func TestTOTPBeforeT0(t *testing.T) {
	p := totp6
	p.T0 = now.Unix() + 3600
	if s := otp.Step(p, now); s >= 0 {
		t.Errorf("Step before T0 = %d, want negative", s)
	}
	if c := otp.Candidates(seed20, p, otp.State{LastStep: -1}, otp.DefaultWindow, now); len(c) != 0 {
		t.Errorf("%d candidates before T0, want none", len(c))
	}
	// Not even with a drift that would carry the centre past T0.
	if c := otp.Candidates(seed20, p, otp.State{LastStep: -1, Drift: 1000}, otp.DefaultWindow, now); len(c) != 0 {
		t.Errorf("%d candidates before T0 with drift 1000, want none", len(c))
	}
	// Just after T0, with a drift back before it, and a state that claims
	// no step at all: negative steps are never offered.
	after := time.Unix(p.T0+5, 0)
	if c := otp.Candidates(seed20, p, otp.State{LastStep: math.MinInt64, Drift: -1}, otp.DefaultWindow, after); len(c) != 1 || c[0].Counter != 0 {
		t.Errorf("candidates at T0+5 s with drift -1: %v, want step 0 only", c)
	}
	// Step 0 begins at T0, and floors before it.
	for _, tt := range []struct {
		d    int64
		want int64
	}{{0, 0}, {29, 0}, {30, 1}, {-1, -1}, {-30, -1}, {-31, -2}} {
		if s := otp.Step(p, time.Unix(p.T0+tt.d, 0)); s != tt.want {
			t.Errorf("Step(T0%+d) = %d, want %d", tt.d, s, tt.want)
		}
	}
}

// TestHOTPReplay: counters below State.Counter are used.
func TestHOTPReplay(t *testing.T) {
	st := otp.State{Counter: 10}
	w := otp.DefaultWindow
	if _, ok := accepts(seed20, hotp6, st, w, now, otp.Code(seed20, hotp6, 9)); ok {
		t.Error("the code of counter 9 is accepted when 10 is next")
	}
	cands := otp.Candidates(seed20, hotp6, st, w, now)
	c, ok := otp.Match(cands, otp.Code(seed20, hotp6, 10))
	if !ok || c.Counter != 10 || c.Offset != 0 {
		t.Fatalf("code of counter 10: matched %v at %d offset %d", ok, c.Counter, c.Offset)
	}
	st = otp.Accept(hotp6, st, c)
	if st.Counter != 11 {
		t.Fatalf("after Accept: Counter %d, want 11", st.Counter)
	}
	if _, ok := accepts(seed20, hotp6, st, w, now, otp.Code(seed20, hotp6, 10)); ok {
		t.Error("the used code of counter 10 is accepted again")
	}
	// An older candidate does not move the counter back.
	if got := otp.Accept(hotp6, st, cands[0]); got.Counter != 11 {
		t.Errorf("Accept of counter 10 after 11: Counter %d", got.Counter)
	}
}

func TestHOTPLookAhead(t *testing.T) {
	st := otp.State{Counter: 100}
	w := otp.Window{LookAhead: 20}

	cands := otp.Candidates(seed20, hotp6, st, w, now)
	if len(cands) != 21 {
		t.Fatalf("%d candidates with look-ahead 20, want 21", len(cands))
	}
	for i, c := range cands {
		if c.Counter != 100+uint64(i) || c.Offset != i {
			t.Fatalf("candidate %d: counter %d offset %d, want ascending from 100", i, c.Counter, c.Offset)
		}
	}

	c, ok := otp.Match(cands, otp.Code(seed20, hotp6, 115))
	if !ok || c.Counter != 115 || c.Offset != 15 {
		t.Fatalf("code 15 ahead: matched %v at %d offset %d", ok, c.Counter, c.Offset)
	}
	if got := otp.Accept(hotp6, st, c); got.Counter != 116 {
		t.Errorf("after accepting 15 ahead: Counter %d, want 116", got.Counter)
	}
	if _, ok := otp.Match(cands, otp.Code(seed20, hotp6, 120)); !ok {
		t.Error("code 20 ahead (the edge) not found")
	}
	if _, ok := otp.Match(cands, otp.Code(seed20, hotp6, 121)); ok {
		t.Error("code 21 ahead found with look-ahead 20")
	}
	if _, ok := accepts(seed20, hotp6, st, otp.Window{LookAhead: 0}, now, otp.Code(seed20, hotp6, 101)); ok {
		t.Error("code 1 ahead found with look-ahead 0")
	}
}

// TestHOTPCounterEnd: the last counter is never offered, so that Accept
// never wraps the counter round to 0 and reopens every used code.
func TestHOTPCounterEnd(t *testing.T) {
	st := otp.State{Counter: math.MaxUint64 - 3}
	cands := otp.Candidates(seed20, hotp6, st, otp.DefaultWindow, now)
	if len(cands) != 3 || cands[2].Counter != math.MaxUint64-1 {
		t.Fatalf("near the end: %v, want 3 candidates up to MaxUint64-1", cands)
	}
	st = otp.Accept(hotp6, st, cands[2])
	if st.Counter != math.MaxUint64 {
		t.Fatalf("Counter %d after the last counter, want MaxUint64", st.Counter)
	}
	if c := otp.Candidates(seed20, hotp6, st, otp.DefaultWindow, now); len(c) != 0 {
		t.Errorf("%d candidates for an exhausted token, want none", len(c))
	}
	// Exactly LookAhead short of the end: the last counter stays out.
	cands = otp.Candidates(seed20, hotp6, otp.State{Counter: math.MaxUint64 - 20}, otp.Window{LookAhead: 20}, now)
	if len(cands) != 20 || cands[19].Counter != math.MaxUint64-1 {
		t.Errorf("20 short of the end with look-ahead 20: %d candidates, last %v; want 20 up to MaxUint64-1", len(cands), cands[len(cands)-1])
	}
	if got := otp.Accept(hotp6, st, otp.Candidate{Counter: math.MaxUint64}); got.Counter != math.MaxUint64 {
		t.Errorf("Accept wrapped the counter to %d", got.Counter)
	}
}

func TestMatch(t *testing.T) {
	cands := []otp.Candidate{{Code: "123456", Counter: 1}, {Code: "654321", Counter: 2}, {Code: "123456", Counter: 3}}
	tests := []struct {
		code string
		want uint64
		ok   bool
	}{
		{"123456", 1, true}, // the first of two
		{"654321", 2, true},
		{"000000", 0, false},
		{"12345", 0, false},
		{"1234567", 0, false},
		{"123456 ", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		c, ok := otp.Match(cands, tt.code)
		if ok != tt.ok || c.Counter != tt.want {
			t.Errorf("Match(%q) = counter %d, %v; want %d, %v", tt.code, c.Counter, ok, tt.want, tt.ok)
		}
	}
	if _, ok := otp.Match([]otp.Candidate{{Code: ""}}, ""); ok {
		t.Error("an empty code matched an empty candidate")
	}
	if _, ok := otp.Match(nil, "123456"); ok {
		t.Error("matched among no candidates")
	}
}

// TestMatchAllocs pins Match, which runs on every login, to no allocation.
func TestMatchAllocs(t *testing.T) {
	cands := otp.Candidates(seed20, hotp6, otp.State{}, otp.DefaultWindow, now)
	code := cands[len(cands)-1].Code
	if n := testing.AllocsPerRun(100, func() { otp.Match(cands, code) }); n != 0 {
		t.Errorf("Match allocates %v times, want 0", n)
	}
}

// TestFailClosed: nothing invalid yields a code.
func TestFailClosed(t *testing.T) {
	bad := []struct {
		name   string
		secret []byte
		p      otp.Params
		w      otp.Window
	}{
		{"empty secret", nil, totp6, otp.DefaultWindow},
		{"no kind", seed20, otp.Params{Digits: 6}, otp.DefaultWindow},
		{"kind 3", seed20, otp.Params{Kind: 3}, otp.DefaultWindow},
		{"algorithm 3", seed20, otp.Params{Kind: otp.TOTP, Algorithm: 3}, otp.DefaultWindow},
		{"5 digits", seed20, otp.Params{Kind: otp.TOTP, Digits: 5}, otp.DefaultWindow},
		{"9 digits", seed20, otp.Params{Kind: otp.HOTP, Digits: 9}, otp.DefaultWindow},
		{"period 1.5s", seed20, otp.Params{Kind: otp.TOTP, Period: 1500 * time.Millisecond}, otp.DefaultWindow},
		{"period -30s", seed20, otp.Params{Kind: otp.TOTP, Period: -30 * time.Second}, otp.DefaultWindow},
		{"skew -1", seed20, totp6, otp.Window{Skew: -1}},
		{"skew 11", seed20, totp6, otp.Window{Skew: otp.MaxSkew + 1}},
		{"look-ahead 1001", seed20, hotp6, otp.Window{LookAhead: otp.MaxLookAhead + 1}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if c := otp.Candidates(tt.secret, tt.p, otp.State{LastStep: -1}, tt.w, now); c != nil {
				t.Errorf("Candidates = %d codes, want nil", len(c))
			}
			if tt.w == otp.DefaultWindow {
				if c := otp.Code(tt.secret, tt.p, 1); c != "" {
					t.Errorf("Code = %q, want \"\"", c)
				}
				if tt.secret != nil && tt.p.Validate() == nil {
					t.Error("Validate accepts the params")
				}
			}
		})
	}
	// The zero values that mean defaults are valid: SHA1, 6 digits, 30 s.
	p := otp.Params{Kind: otp.TOTP}
	if err := p.Validate(); err != nil {
		t.Fatalf("Params{Kind: TOTP}: %v", err)
	}
	if got, want := otp.Code(seed20, p, 1), otp.Code(seed20, totp6, 1); got != want {
		t.Errorf("defaults give %s, explicit SHA1/6/30s %s", got, want)
	}
	if otp.Step(p, now) != otp.Step(totp6, now) {
		t.Error("zero Period is not 30 s")
	}
}

// TestCandidateRedacts: a candidate's code is a valid password, so it
// never reaches a log.
func TestCandidateRedacts(t *testing.T) {
	c := otp.Candidate{Code: "987654", Counter: 42, Offset: -1}
	var out []string
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		out = append(out, fmt.Sprintf(f, c))
	}
	out = append(out, fmt.Sprint([]otp.Candidate{c}), c.String())
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("matched", "candidate", c)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("matched", "candidate", c)
	out = append(out, buf.String())
	for _, s := range out {
		if strings.Contains(s, "987654") {
			t.Errorf("the code leaks: %s", s)
		}
	}
	if !strings.Contains(buf.String(), `"counter":42`) {
		t.Errorf("the log lost the counter: %s", buf.String())
	}
	if b, _ := json.Marshal(struct{ C otp.Secret }{otp.Secret("987654")}); strings.Contains(string(b), "987654") {
		t.Errorf("a Secret leaks into JSON: %s", b)
	}
}

// TestUsed: a used code is found among Used, so a replay can be told
// from a wrong code; a code never used is not.
func TestUsed(t *testing.T) {
	w := otp.DefaultWindow
	step := otp.Step(totp6, now)
	st := otp.State{LastStep: step}
	if _, ok := otp.Match(otp.Used(seed20, totp6, st, w, now), otp.Code(seed20, totp6, uint64(step))); !ok {
		t.Error("TOTP: the code of the last used step is not among Used")
	}
	if _, ok := otp.Match(otp.Used(seed20, totp6, st, w, now), otp.Code(seed20, totp6, uint64(step+1))); ok {
		t.Error("TOTP: the next step's (unused) code is among Used")
	}
	if u := otp.Used(seed20, totp6, otp.State{LastStep: -1}, w, now); len(u) != 0 {
		t.Errorf("TOTP: %d used codes before any use", len(u))
	}
	hst := otp.State{Counter: 10}
	if _, ok := otp.Match(otp.Used(seed20, hotp6, hst, w, now), otp.Code(seed20, hotp6, 9)); !ok {
		t.Error("HOTP: counter 9 is not among Used when 10 is next")
	}
	if _, ok := otp.Match(otp.Used(seed20, hotp6, hst, w, now), otp.Code(seed20, hotp6, 10)); ok {
		t.Error("HOTP: the next counter is among Used")
	}
	if u := otp.Used(seed20, hotp6, otp.State{}, w, now); len(u) != 0 {
		t.Errorf("HOTP: %d used codes at counter 0", len(u))
	}
}
