package store

import (
	"context"
	"testing"
)

// BenchmarkCheckPassword runs with the production parameters
// (PasswordHashParams as shipped: t=1, m=64 MiB, p=2).
func BenchmarkCheckPassword(b *testing.B) {
	saved := PasswordHashParams
	PasswordHashParams = defaultHashParams
	b.Cleanup(func() { PasswordHashParams = saved })

	ctx := context.Background()
	st := newStore(b)
	if err := st.AddUser(ctx, "alice"); err != nil {
		b.Fatal(err)
	}
	if err := st.SetPassword(ctx, "alice", "correct horse battery staple"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		ok, err := st.CheckPassword(ctx, "alice", "correct horse battery staple")
		if !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkCommitTOTP is one accepted TOTP commit: one UPDATE, one
// durable (synchronous=FULL) WAL commit.
func BenchmarkCommitTOTP(b *testing.B) {
	ctx := context.Background()
	st := newStore(b)
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var step int64
	for b.Loop() {
		step++
		if err := st.CommitTOTP(ctx, "T1", step, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitTOTPReplayed is a refused replay: the UPDATE changes
// nothing and a read classifies the failure.
func BenchmarkCommitTOTPReplayed(b *testing.B) {
	ctx := context.Background()
	st := newStore(b)
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		b.Fatal(err)
	}
	if err := st.CommitTOTP(ctx, "T1", 1000, 0); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := st.CommitTOTP(ctx, "T1", 1000, 0); err == nil {
			b.Fatal("replay accepted")
		}
	}
}
