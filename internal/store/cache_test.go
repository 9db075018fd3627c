package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// twoProcesses opens one database twice, as a plugin process and the
// operator's CLI do, and puts a cache on the first.
func twoProcesses(t *testing.T, how checkBy) (plugin *Store, cli *Store, c *Cache) {
	t.Helper()
	path := newLocation(t)
	plugin, cli = openAt(t, path), openAt(t, path)
	c, err := NewCache(context.Background(), plugin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	switch {
	case how == byDataVersion && c.wal != nil:
		c.wal.close()
		c.wal = nil
	case how == byWALIndex && c.wal == nil:
		t.Fatal("the cache could not map the wal-index")
	}
	return plugin, cli, c
}

// checkBy is how a cache asks whether the database changed.
type checkBy string

const (
	byWALIndex    checkBy = "wal-index"
	byDataVersion checkBy = "data_version"
	byRevision    checkBy = "revision"
)

// bothChecks runs test once with each way of asking; on PostgreSQL,
// which has one way (the 'data' revision), once.
func bothChecks(t *testing.T, test func(t *testing.T, how checkBy)) {
	hows := []checkBy{byWALIndex, byDataVersion}
	if testDriver == Postgres {
		hows = []checkBy{byRevision}
	}
	for _, how := range hows {
		t.Run(string(how), func(t *testing.T) { test(t, how) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCacheSeesOtherProcesses: every change the CLI (another connection,
// as another process would be) commits is seen by the very next read
// through the cache, and reads without a change in between are served
// from memory.
func TestCacheSeesOtherProcesses(t *testing.T) { bothChecks(t, testCacheSeesOtherProcesses) }

func testCacheSeesOtherProcesses(t *testing.T, how checkBy) {
	ctx := context.Background()
	_, cli, c := twoProcesses(t, how)
	must(t, cli.AddUser(ctx, "alice"))
	must(t, cli.SetPassword(ctx, "alice", "first password"))

	check := func(what string, want string) {
		t.Helper()
		got, err := c.Password(ctx, "alice")
		if err != nil || got != want {
			t.Fatalf("%s: Password = %q, %v; want %q", what, got, err, want)
		}
	}
	check("first read", "first password")
	misses := c.Misses()
	for range 10 {
		check("unchanged", "first password")
		if ok, err := c.CheckPassword(ctx, "alice", "first password"); !ok || err != nil {
			t.Fatalf("CheckPassword: %v %v", ok, err)
		}
	}
	if got := c.Misses(); got != misses {
		t.Errorf("%d reads went to the database with nothing changed", got-misses)
	}

	must(t, cli.SetPassword(ctx, "alice", "second password"))
	check("after passwd", "second password")
	if ok, _ := c.CheckPassword(ctx, "alice", "first password"); ok {
		t.Error("the old password still checks")
	}

	must(t, cli.SetDisabled(ctx, "alice", true))
	if u, err := c.User(ctx, "alice"); err != nil || !u.Disabled {
		t.Fatalf("after disable: %+v %v", u, err)
	}
	must(t, cli.AddGroup(ctx, "vpn"))
	must(t, cli.AddMember(ctx, "vpn", "alice"))
	if u, err := c.User(ctx, "alice"); err != nil || !slices.Equal(u.Groups, []string{"vpn"}) {
		t.Fatalf("after a membership: %+v %v", u, err)
	}

	if _, err := c.User(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown user: %v", err)
	}
	must(t, cli.AddUser(ctx, "bob"))
	if _, err := c.User(ctx, "bob"); err != nil {
		t.Fatalf("a user added meanwhile: %v", err)
	}

	// Tokens: assignment, re-assignment, and a code consumed elsewhere.
	must(t, cli.AddToken(ctx, totpToken("T1")))
	if ts, err := c.UserTokens(ctx, "alice", SourceOATH); err != nil || len(ts) != 0 {
		t.Fatalf("before assignment: %v %v", ts, err)
	}
	must(t, cli.AssignToken(ctx, "T1", "alice"))
	ts, err := c.UserTokens(ctx, "alice", SourceOATH)
	if err != nil || len(ts) != 1 || !bytes.Equal(ts[0].Secret, secretSHA1) {
		t.Fatalf("after assignment: %v %v", ts, err)
	}
	clear(ts[0].Secret) // a caller clearing its copy leaves the cache intact
	must(t, cli.UnassignToken(ctx, "T1"))
	must(t, cli.AssignToken(ctx, "T1", "bob"))
	if ts, err := c.UserTokens(ctx, "alice", SourceOATH); err != nil || len(ts) != 0 {
		t.Fatalf("after re-assignment, alice: %v %v", ts, err)
	}
	if ts, err := c.UserTokens(ctx, "bob", SourceOATH); err != nil || len(ts) != 1 || !bytes.Equal(ts[0].Secret, secretSHA1) {
		t.Fatalf("after re-assignment, bob: %v %v", ts, err)
	}
	must(t, cli.CommitTOTP(ctx, "T1", 1000, 0))
	if tok, err := c.Token(ctx, "T1"); err != nil || tok.LastStep != 1000 || tok.User != "bob" {
		t.Fatalf("after a commit elsewhere: %+v %v", tok, err)
	}
	if _, err := c.Token(ctx, "T2"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown token: %v", err)
	}
}

// TestCacheSeesOwnCommits: a commit through the store the cache reads
// (the plugin's own, on another connection of its pool) empties it too.
func TestCacheSeesOwnCommits(t *testing.T) { bothChecks(t, testCacheSeesOwnCommits) }

func testCacheSeesOwnCommits(t *testing.T, how checkBy) {
	ctx := context.Background()
	plugin, _, c := twoProcesses(t, how)
	must(t, plugin.AddUser(ctx, "alice"))
	must(t, plugin.AddToken(ctx, hotpToken("H1")))
	must(t, plugin.AssignToken(ctx, "H1", "alice"))
	if ts, err := c.UserTokens(ctx, "alice", ""); err != nil || ts[0].Counter != 0 {
		t.Fatalf("%v %v", ts, err)
	}
	must(t, plugin.CommitHOTP(ctx, "H1", 4))
	if ts, err := c.UserTokens(ctx, "alice", ""); err != nil || ts[0].Counter != 5 {
		t.Fatalf("after the plugin's own commit: %v %v", ts, err)
	}
}

// TestCacheUnderConcurrentWrites: readers running while another process
// writes never see a password older than one whose write had finished
// before the read began.
func TestCacheUnderConcurrentWrites(t *testing.T) { bothChecks(t, testCacheUnderConcurrentWrites) }

func testCacheUnderConcurrentWrites(t *testing.T, how checkBy) {
	ctx := context.Background()
	_, cli, c := twoProcesses(t, how)
	must(t, cli.AddUser(ctx, "alice"))
	must(t, cli.SetPassword(ctx, "alice", "password 0"))
	var (
		mu      sync.Mutex
		written int // the last password number whose write returned
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				floor := written
				mu.Unlock()
				pw, err := c.Password(ctx, "alice")
				if err != nil {
					t.Error(err)
					return
				}
				var n int
				fmt.Sscanf(pw, "password %d", &n)
				if n < floor {
					t.Errorf("read %q after password %d was written", pw, floor)
					return
				}
			}
		})
	}
	for i := 1; i <= 20; i++ {
		must(t, cli.SetPassword(ctx, "alice", fmt.Sprintf("password %d", i)))
		mu.Lock()
		written = i
		mu.Unlock()
	}
	close(stop)
	wg.Wait()
}

// TestWALIndexStamp: the wal-index header's stamp stays put while the
// database is only read, and moves with every commit, from this
// connection pool or another, including a checkpoint that restarts the
// WAL.
func TestWALIndexStamp(t *testing.T) {
	ctx := context.Background()
	plugin, cli, c := twoProcesses(t, byWALIndex)
	must(t, cli.AddUser(ctx, "alice"))
	s0, ok := c.wal.stamp()
	if !ok {
		t.Fatal("no stamp")
	}
	for range 5 {
		if _, err := plugin.User(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Users(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s, _ := c.wal.stamp(); s != s0 {
		t.Fatalf("reads moved the stamp: %+v -> %+v", s0, s)
	}
	seen := map[walStamp]bool{s0: true}
	for i, write := range []func() error{
		func() error { return cli.SetDisabled(ctx, "alice", true) },
		func() error { return plugin.SetDisabled(ctx, "alice", false) },
		func() error { _, err := cli.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); return err },
		func() error { return cli.AddUser(ctx, "bob") },
	} {
		must(t, write())
		s, ok := c.wal.stamp()
		if !ok || seen[s] {
			t.Fatalf("write %d: stamp %+v (ok %v) seen before", i, s, ok)
		}
		seen[s] = true
	}
}

// BenchmarkSnapshot is the cost of asking whether the database changed.
func BenchmarkSnapshot(b *testing.B) {
	for _, how := range []checkBy{byWALIndex, byDataVersion} {
		b.Run(string(how), func(b *testing.B) {
			ctx := context.Background()
			st := newStore(b)
			c, err := NewCache(ctx, st)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if how == byDataVersion {
				c.wal.close()
				c.wal = nil
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Snapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
