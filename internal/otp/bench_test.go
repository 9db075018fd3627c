package otp_test

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

// The cost of one login's fragments: Candidates runs once per OTP
// back-end and login, Match once per candidate secret tried.

func BenchmarkCandidatesTOTP(b *testing.B) {
	st := otp.State{LastStep: -1}
	w := otp.Window{Skew: 1}
	b.ReportAllocs()
	for b.Loop() {
		if c := otp.Candidates(seed20, totp6, st, w, now); len(c) != 3 {
			b.Fatalf("%d candidates, want 3", len(c))
		}
	}
}

func BenchmarkCandidatesHOTP20(b *testing.B) {
	st := otp.State{Counter: 1000}
	w := otp.Window{LookAhead: 20}
	b.ReportAllocs()
	for b.Loop() {
		if c := otp.Candidates(seed20, hotp6, st, w, now); len(c) != 21 {
			b.Fatalf("%d candidates, want 21", len(c))
		}
	}
}

func BenchmarkMatchHOTP20(b *testing.B) {
	cands := otp.Candidates(seed20, hotp6, otp.State{}, otp.Window{LookAhead: 20}, now)
	code := cands[len(cands)-1].Code
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := otp.Match(cands, code); !ok {
			b.Fatal("no match")
		}
	}
}
