package lockout

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func TestThresholdWindowDuration(t *testing.T) {
	tr := New(Settings{Threshold: 3, Window: 10 * time.Minute, Duration: 15 * time.Minute}, nil, nil)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	// Two failures, then the window passes: counting starts again.
	tr.Failed("bob", at(0))
	tr.Failed("bob", at(time.Minute))
	if locked, _ := tr.Failed("bob", at(11*time.Minute)); locked {
		t.Fatal("failures from an old window locked bob")
	}
	tr.Failed("bob", at(12*time.Minute))
	locked, until := tr.Failed("bob", at(13*time.Minute))
	if !locked || !until.Equal(at(28*time.Minute)) {
		t.Fatalf("third failure in the window: locked %v until %v; want locked until %v", locked, until, at(28*time.Minute))
	}
	if ok, u := tr.Check("bob", at(20*time.Minute)); !ok || !u.Equal(until) {
		t.Errorf("during the lockout: Check = %v, %v", ok, u)
	}
	if ok, _ := tr.Check("alice", at(20*time.Minute)); ok {
		t.Error("another name is locked")
	}
	if ok, _ := tr.Check("bob", at(28*time.Minute)); ok {
		t.Error("still locked once Duration has passed")
	}
	// After the lockout a single failure does not lock again at once.
	if locked, _ := tr.Failed("bob", at(29*time.Minute)); locked {
		t.Error("one failure after a lockout locked again")
	}
	tr.Failed("bob", at(30*time.Minute))
	tr.Succeeded("bob")
	if locked, _ := tr.Failed("bob", at(31*time.Minute)); locked {
		t.Error("a success did not reset the count")
	}
	st := tr.Stats()
	if st.Lockouts != 1 || st.Refused != 1 {
		t.Errorf("stats %+v; want 1 lockout, 1 refusal", st)
	}
}

func TestOff(t *testing.T) {
	tr := New(Settings{Threshold: 0}, nil, nil)
	for i := range 100 {
		if locked, _ := tr.Failed("bob", t0.Add(time.Duration(i)*time.Second)); locked {
			t.Fatal("threshold 0 locked")
		}
	}
	if ok, _ := tr.Check("bob", t0); ok {
		t.Fatal("threshold 0 refused")
	}
}

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{7}, seal.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), path, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The counts survive a restart, and an operator's unlock in the store
// reaches a tracker that loads again.
func TestSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	st := openStore(t, path)
	s := Settings{Threshold: 2, Window: time.Hour, Duration: time.Hour}
	now := time.Now()

	tr := New(s, st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx, time.Hour); close(done) }()
	tr.Failed("bob", now)
	tr.Failed("bob", now)
	tr.Failed("carol", now)
	tr.Failed("dave", now)
	tr.Succeeded("dave")
	cancel()
	<-done // Run writes what is queued before it returns

	again := New(s, openStore(t, path), nil)
	if err := again.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := again.Check("bob", now.Add(time.Minute)); !ok {
		t.Fatal("bob's lockout did not survive the restart")
	}
	if locked, _ := again.Failed("carol", now.Add(time.Minute)); !locked {
		t.Error("carol's first failure was forgotten: the second did not lock")
	}
	if _, ok, _ := st.Lockout(context.Background(), "dave"); ok {
		t.Error("a success did not clear the stored count")
	}

	if _, err := st.Unlock(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	if err := again.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := again.Check("bob", now.Add(time.Minute)); ok {
		t.Error("still locked after the store's unlock and a Load")
	}
}

// Two gateways sharing a store (two trackers on one database, as on
// PostgreSQL; SQLite runs the same statements) lock a name when their
// failures together reach the threshold, though neither saw enough
// alone; the one whose failure locked it reports the lockout, and the
// other learns of it by loading.
func TestSharedCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s := Settings{Threshold: 4, Window: time.Hour, Duration: time.Hour}
	now := time.Now()
	var locked []store.Lockout
	var mu sync.Mutex
	trackers := make([]*Tracker, 2)
	stores := make([]*store.Store, 2)
	for i := range trackers {
		stores[i] = openStore(t, path)
		trackers[i] = New(s, stores[i], nil)
		trackers[i].Share(stores[i], func(l store.Lockout) { mu.Lock(); locked = append(locked, l); mu.Unlock() })
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, tr := range trackers {
		wg.Go(func() { tr.Run(ctx, time.Hour) })
	}
	for i := range 4 {
		if l, _ := trackers[i%2].Failed("mallory", now.Add(time.Duration(i)*time.Second)); l {
			t.Fatalf("failure %d locked in one tracker's memory; each saw only two", i)
		}
	}
	cancel()
	wg.Wait()
	if len(locked) != 1 || locked[0].Name != "mallory" || locked[0].Failures != 4 {
		t.Fatalf("onLock calls: %+v, want one for mallory with 4 failures", locked)
	}
	refused := 0
	for _, tr := range trackers {
		if err := tr.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ok, _ := tr.Check("mallory", now.Add(time.Minute)); ok {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d of 2 gateways refuse mallory after the shared lockout", refused)
	}
	if st := trackers[0].Stats().Lockouts + trackers[1].Stats().Lockouts; st != 1 {
		t.Errorf("lockouts counted %d times, want 1", st)
	}
}

// stuckStore never finishes a write.
type stuckStore struct {
	once sync.Once
	in   chan struct{}
}

func (s *stuckStore) SaveLockout(ctx context.Context, l store.Lockout) error {
	s.once.Do(func() { close(s.in) })
	select {}
}
func (s *stuckStore) Lockouts(context.Context) ([]store.Lockout, error) { return nil, nil }
func (s *stuckStore) ClearLockout(context.Context, string) error        { select {} }
func (s *stuckStore) PruneLockouts(context.Context, time.Time, time.Time) (int64, error) {
	return 0, nil
}

// A store that hangs never holds up a login: writes past the backlog are
// dropped and counted, and the lockout still works in memory.
func TestStuckStoreDoesNotBlockLogins(t *testing.T) {
	st := &stuckStore{in: make(chan struct{})}
	tr := New(Settings{Threshold: 3, Window: time.Hour, Duration: time.Hour}, st, nil)
	go tr.Run(context.Background(), time.Hour)
	tr.Failed("first", t0)
	<-st.in
	finished := make(chan struct{})
	go func() {
		for i := range Backlog + 100 {
			tr.Failed(fmt.Sprintf("user%d", i), t0)
		}
		tr.Failed("bob", t0)
		tr.Failed("bob", t0)
		tr.Failed("bob", t0)
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(time.Minute):
		t.Fatal("Failed blocked on a stuck store")
	}
	if ok, _ := tr.Check("bob", t0); !ok {
		t.Error("the lockout does not hold in memory")
	}
	if d := tr.Stats().WritesDropped; d < 100 {
		t.Errorf("%d writes dropped; want at least 100", d)
	}
}

func TestMemoryBounded(t *testing.T) {
	s := Settings{Threshold: 2, Window: time.Minute, Duration: time.Hour}
	tr := New(s, nil, nil)
	tr.Failed("locked", t0)
	tr.Failed("locked", t0)
	for i := range MaxNames + 10 {
		tr.Failed(fmt.Sprintf("u%d", i), t0.Add(2*time.Minute))
	}
	tr.mu.Lock()
	n := len(tr.names)
	tr.mu.Unlock()
	if n > MaxNames {
		t.Errorf("%d names kept; want at most %d", n, MaxNames)
	}
	if ok, _ := tr.Check("locked", t0.Add(2*time.Minute)); !ok {
		t.Error("a locked name was evicted to make room")
	}
}
