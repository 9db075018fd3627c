package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

func TestCommitHOTP(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	tok := hotpToken("H1")
	tok.Counter = 10
	if err := st.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		t.Fatal(err)
	}
	counter := func() uint64 {
		t.Helper()
		tok, err := st.Token(ctx, "H1")
		if err != nil {
			t.Fatal(err)
		}
		return tok.Counter
	}

	steps := []struct {
		used    uint64
		wantErr error
		want    uint64 // Counter afterwards
	}{
		{9, ErrReplayed, 10},  // below the next expected
		{10, nil, 11},         // the next expected
		{10, ErrReplayed, 11}, // the same again
		{15, nil, 16},         // a code further ahead (look-ahead window)
		{12, ErrReplayed, 16}, // a skipped code is gone
		{16, nil, 17},
	}
	for _, s := range steps {
		err := st.CommitHOTP(ctx, "H1", s.used)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("CommitHOTP(%d) = %v, want %v", s.used, err, s.wantErr)
		}
		if got := counter(); got != s.want {
			t.Fatalf("after CommitHOTP(%d): Counter = %d, want %d", s.used, got, s.want)
		}
	}
	if err := st.CommitHOTP(ctx, "H1", 3); err == nil || err.Error() != `token "H1": counter 3: one-time code already used` {
		t.Fatalf("replay message = %v", err)
	}
	if err := st.CommitHOTP(ctx, "NOPE", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CommitHOTP(unknown) = %v", err)
	}
	if err := st.CommitHOTP(ctx, "T1", 1); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "totp token") {
		t.Fatalf("CommitHOTP on a TOTP token = %v", err)
	}
	if err := st.CommitHOTP(ctx, "H1", math.MaxInt64); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CommitHOTP(MaxInt64) = %v", err)
	}
	if err := st.CommitHOTP(ctx, "H1", math.MaxInt64-1); err != nil {
		t.Fatalf("CommitHOTP(MaxInt64-1) = %v", err)
	}
	if got := counter(); got != math.MaxInt64 {
		t.Fatalf("Counter = %d", got)
	}
}

func TestResyncHOTP(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	tok := hotpToken("H1")
	tok.Counter = 10
	if err := st.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		t.Fatal(err)
	}
	if err := st.ResyncHOTP(ctx, "H1", 250); err != nil {
		t.Fatal(err)
	}
	if tok, _ := st.Token(ctx, "H1"); tok.Counter != 250 {
		t.Fatalf("Counter = %d, want 250", tok.Counter)
	}
	if err := st.ResyncHOTP(ctx, "H1", 250); err != nil {
		t.Fatalf("resync to the same counter = %v", err)
	}
	if err := st.ResyncHOTP(ctx, "H1", 100); !errors.Is(err, ErrReplayed) {
		t.Fatalf("resync backwards = %v, want ErrReplayed", err)
	}
	if err := st.CommitHOTP(ctx, "H1", 249); !errors.Is(err, ErrReplayed) {
		t.Fatalf("code before the resynced counter = %v", err)
	}
	if err := st.ResyncHOTP(ctx, "H1", math.MaxInt64+1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("resync beyond int64 = %v", err)
	}
	if err := st.ResyncHOTP(ctx, "NOPE", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ResyncHOTP(unknown) = %v", err)
	}
	if err := st.ResyncHOTP(ctx, "T1", 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ResyncHOTP on a TOTP token = %v", err)
	}
}

func TestCommitTOTP(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, hotpToken("H1")); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		step, drift int64
		wantErr     error
		wantLast    int64
		wantDrift   int64
	}{
		{0, 0, nil, 0, 0},         // the first step ever (LastStep -1)
		{0, 0, ErrReplayed, 0, 0}, // the same step again
		{59_000_000, 1, nil, 59_000_000, 1},
		{59_000_000, 0, ErrReplayed, 59_000_000, 1}, // replay keeps the drift
		{58_999_999, 0, ErrReplayed, 59_000_000, 1}, // an earlier step
		{59_000_001, -1, nil, 59_000_001, -1},
	}
	for _, s := range steps {
		err := st.CommitTOTP(ctx, "T1", s.step, s.drift)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("CommitTOTP(%d, %d) = %v, want %v", s.step, s.drift, err, s.wantErr)
		}
		tok, err := st.Token(ctx, "T1")
		if err != nil {
			t.Fatal(err)
		}
		if tok.LastStep != s.wantLast || tok.Drift != s.wantDrift {
			t.Fatalf("after CommitTOTP(%d, %d): LastStep %d Drift %d, want %d %d",
				s.step, s.drift, tok.LastStep, tok.Drift, s.wantLast, s.wantDrift)
		}
	}
	if err := st.CommitTOTP(ctx, "T1", 5, 0); err == nil || err.Error() != `token "T1": time step 5: one-time code already used` {
		t.Fatalf("replay message = %v", err)
	}
	if err := st.CommitTOTP(ctx, "T1", -1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative step = %v", err)
	}
	if err := st.CommitTOTP(ctx, "NOPE", 1, 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("CommitTOTP(unknown) = %v", err)
	}
	if err := st.CommitTOTP(ctx, "H1", 1, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("CommitTOTP on an HOTP token = %v", err)
	}
}

func TestResyncTOTP(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := st.AddToken(ctx, totpToken("T1")); err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(ctx, hotpToken("H1")); err != nil {
		t.Fatal(err)
	}
	if err := st.CommitTOTP(ctx, "T1", 100, 0); err != nil {
		t.Fatal(err)
	}
	if err := st.ResyncTOTP(ctx, "T1", -7); err != nil {
		t.Fatal(err)
	}
	tok, _ := st.Token(ctx, "T1")
	if tok.Drift != -7 || tok.LastStep != 100 {
		t.Fatalf("after ResyncTOTP: Drift %d LastStep %d, want -7 100", tok.Drift, tok.LastStep)
	}
	if err := st.ResyncTOTP(ctx, "NOPE", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ResyncTOTP(unknown) = %v", err)
	}
	if err := st.ResyncTOTP(ctx, "H1", 1); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ResyncTOTP on an HOTP token = %v", err)
	}
}

// Two handles on one file, as two processes would hold, race to commit the
// same code from many goroutines: exactly one wins each round.
func TestCommitRaceTwoHandles(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	a, b := openAt(t, path), openAt(t, path)
	if err := a.AddToken(ctx, totpToken("T1")); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToken(ctx, hotpToken("H1")); err != nil {
		t.Fatal(err)
	}

	const rounds, perHandle = 20, 16
	for round := range rounds {
		step := int64(59_000_000 + round)
		counter := uint64(round)
		var (
			wg                 sync.WaitGroup
			mu                 sync.Mutex
			totpWins, hotpWins int
			unexpected         []error
		)
		start := make(chan struct{})
		for i := range 2 * perHandle {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Go(func() {
				<-start
				errT := st.CommitTOTP(ctx, "T1", step, 0)
				errH := st.CommitHOTP(ctx, "H1", counter)
				mu.Lock()
				defer mu.Unlock()
				for _, e := range []struct {
					err  error
					wins *int
				}{{errT, &totpWins}, {errH, &hotpWins}} {
					switch {
					case e.err == nil:
						*e.wins++
					case !errors.Is(e.err, ErrReplayed):
						unexpected = append(unexpected, e.err)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		if len(unexpected) > 0 {
			t.Fatalf("round %d: errors other than ErrReplayed: %v", round, unexpected)
		}
		if totpWins != 1 || hotpWins != 1 {
			t.Fatalf("round %d: %d CommitTOTP and %d CommitHOTP calls won, want exactly 1 each", round, totpWins, hotpWins)
		}
	}
	tok, _ := b.Token(ctx, "T1")
	if tok.LastStep != 59_000_000+rounds-1 {
		t.Fatalf("LastStep = %d", tok.LastStep)
	}
	tok, _ = a.Token(ctx, "H1")
	if tok.Counter != rounds {
		t.Fatalf("Counter = %d", tok.Counter)
	}
}

// Real processes: the test binary re-executes itself as several workers
// on one file. Every worker commits the same TOTP step and the same HOTP
// counter on every one of n tokens of each kind, each worker in its own
// random order, and reports what it won. Each token must be won exactly
// once, and the wins should be spread over the workers (so they really
// interleaved).
func TestCommitRaceProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: starts processes; not in -short")
	}
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	const workers, n = 4, 200
	for k := range n {
		if err := st.AddToken(ctx, totpToken(fmt.Sprintf("T%d", k))); err != nil {
			t.Fatal(err)
		}
		if err := st.AddToken(ctx, hotpToken(fmt.Sprintf("H%d", k))); err != nil {
			t.Fatal(err)
		}
	}

	// Workers open the store, say they are ready, and wait for the go
	// file, so that they commit at the same time.
	syncDir := t.TempDir()
	goFile := filepath.Join(syncDir, "go")
	outs := make([][]byte, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCommitWorkerProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"GATEHOUSE_STORE_WORKER="+path,
			"GATEHOUSE_STORE_WORKER_KEY="+hex.EncodeToString(testKey),
			"GATEHOUSE_STORE_WORKER_N="+strconv.Itoa(n),
			"GATEHOUSE_STORE_WORKER_READY="+filepath.Join(syncDir, "ready-"+strconv.Itoa(i)),
			"GATEHOUSE_STORE_WORKER_GO="+goFile)
		wg.Go(func() { outs[i], errs[i] = cmd.CombinedOutput() })
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, _ := os.ReadDir(syncDir)
		if len(entries) == workers || time.Now().After(deadline) {
			break
		}
	}
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	won := map[string]int{}
	perWorker := make([]int, workers)
	for i := range workers {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v\n%s", i, errs[i], outs[i])
		}
		for line := range strings.Lines(string(outs[i])) {
			if w, ok := strings.CutPrefix(strings.TrimSpace(line), "WON "); ok {
				won[w]++
				perWorker[i]++
			}
		}
	}
	for k := range n {
		for _, serial := range []string{fmt.Sprintf("T%d", k), fmt.Sprintf("H%d", k)} {
			if won[serial] != 1 {
				t.Errorf("token %s won %d times, want exactly 1", serial, won[serial])
			}
		}
	}
	t.Logf("%d workers, %d tokens; wins per worker: %v", workers, 2*n, perWorker)
}

// TestCommitWorkerProcess is the worker of TestCommitRaceProcesses; it does
// nothing in a normal run.
func TestCommitWorkerProcess(t *testing.T) {
	path := os.Getenv("GATEHOUSE_STORE_WORKER")
	if path == "" {
		t.Skip("worker process for TestCommitRaceProcesses")
	}
	key, err := hex.DecodeString(os.Getenv("GATEHOUSE_STORE_WORKER_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(os.Getenv("GATEHOUSE_STORE_WORKER_N"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openLocation(ctx, path, s)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := os.WriteFile(os.Getenv("GATEHOUSE_STORE_WORKER_READY"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(os.Getenv("GATEHOUSE_STORE_WORKER_GO")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no go file within 30 s")
		}
	}
	for _, k := range rand.Perm(n) {
		// A pause between logins, as in life: without it the worker that
		// starts first keeps the write lock busy and SQLite's busy handler,
		// which backs off, lets the others in only now and then.
		time.Sleep(200 * time.Microsecond)
		serial := fmt.Sprintf("T%d", k)
		switch err := st.CommitTOTP(ctx, serial, 59_000_000, 0); {
		case err == nil:
			fmt.Printf("WON %s\n", serial)
		case !errors.Is(err, ErrReplayed):
			t.Fatal(err)
		}
		serial = fmt.Sprintf("H%d", k)
		switch err := st.CommitHOTP(ctx, serial, 5); {
		case err == nil:
			fmt.Printf("WON %s\n", serial)
		case !errors.Is(err, ErrReplayed):
			t.Fatal(err)
		}
	}
}
