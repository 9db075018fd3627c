package store

import (
	"context"
	"os"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
)

// benchDrivers runs bench once per driver, as sub-benchmarks sqlite and
// postgres, so that one run compares the two on the same machine. The
// PostgreSQL server is a real one on loopback (TCP, TLS, fsync on, as an
// operator runs it); without root it is skipped, loudly.
func benchDrivers(b *testing.B, bench func(b *testing.B, st *Store)) {
	b.Run("sqlite", func(b *testing.B) { bench(b, newStore(b)) })
	b.Run("postgres", func(b *testing.B) {
		if os.Geteuid() != 0 {
			b.Skip("*** SKIP: the PostgreSQL benchmark needs root to run the server as the postgres account")
		}
		testPG = postgres.Start(b, postgres.Options{})
		testDriver = Postgres
		defer func() { testDriver, testPG = SQLite, nil }()
		bench(b, newStore(b))
	})
}

// BenchmarkCheckPassword runs with the production parameters
// (PasswordHashParams as shipped: t=1, m=64 MiB, p=2); the sealed copy
// decides, so the cost is the read and the unseal.
func BenchmarkCheckPassword(b *testing.B) {
	saved := PasswordHashParams
	PasswordHashParams = defaultHashParams
	b.Cleanup(func() { PasswordHashParams = saved })
	benchDrivers(b, func(b *testing.B, st *Store) {
		ctx := context.Background()
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
	})
}

// BenchmarkCommitTOTP is one accepted TOTP commit: one UPDATE, one
// durable commit (SQLite: synchronous=FULL WAL; PostgreSQL: its WAL
// flushed, plus the 'data' revision the plugins' caches read).
func BenchmarkCommitTOTP(b *testing.B) {
	benchDrivers(b, func(b *testing.B, st *Store) {
		ctx := context.Background()
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
	})
}

// BenchmarkCommitTOTPReplayed is a refused replay: the UPDATE changes
// nothing and a read classifies the failure.
func BenchmarkCommitTOTPReplayed(b *testing.B) {
	benchDrivers(b, func(b *testing.B, st *Store) {
		ctx := context.Background()
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
	})
}

// BenchmarkCacheSnapshot is what a plugin asks before each call: has
// anything changed? (SQLite: the wal-index header; PostgreSQL: a read of
// the 'data' revision, one round trip.)
func BenchmarkCacheSnapshot(b *testing.B) {
	benchDrivers(b, func(b *testing.B, st *Store) {
		ctx := context.Background()
		c, err := NewCache(ctx, st)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Snapshot(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
