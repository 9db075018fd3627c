package lockout

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
)

// Settings are the lockout policy (configuration section lockout).
type Settings struct {
	// Threshold failures within Window lock the name; 0 turns the lockout
	// off.
	Threshold int
	Window    time.Duration
	// Duration is how long a lockout lasts.
	Duration time.Duration
}

// Defaults of the configuration.
var Defaults = Settings{Threshold: 10, Window: 15 * time.Minute, Duration: 15 * time.Minute}

// Store keeps the counts across restarts; *store.Store implements it.
type Store interface {
	Lockouts(ctx context.Context) ([]store.Lockout, error)
	SaveLockout(ctx context.Context, l store.Lockout) error
	ClearLockout(ctx context.Context, name string) error
	PruneLockouts(ctx context.Context, t, windowStart time.Time) (int64, error)
}

// Recorder counts failures in a store that several gateways share
// (*store.Store on PostgreSQL): the sum of every gateway's failures
// decides, and a lockout moves the store's lockouts revision.
type Recorder interface {
	RecordFailure(ctx context.Context, name string, now time.Time, threshold int, window, duration time.Duration) (store.Lockout, bool, error)
}

// Backlog is how many store writes may wait for the writer.
const Backlog = 4096

// MaxNames bounds the names kept in memory.
const MaxNames = 100_000

// Stats are a Tracker's counters since New.
type Stats struct {
	Lockouts      uint64 // names locked
	Refused       uint64 // logins refused because the name was locked
	WritesDropped uint64 // store writes dropped: the writer was behind
	WriteErrors   uint64 // store writes that failed
}

// Tracker counts failed logins per name and decides lockouts. It is safe
// for concurrent use.
type Tracker struct {
	settings atomic.Pointer[Settings]
	st       Store // nil: memory only
	log      *slog.Logger
	writes   chan change
	shared   Recorder              // nil: each gateway counts alone
	onLock   func(l store.Lockout) // a lockout decided by the shared count

	mu    sync.Mutex
	names map[string]*store.Lockout

	lockouts, refused, dropped, writeErrors atomic.Uint64
}

// New returns a tracker with settings s that writes behind to st (nil
// keeps the counts in memory only). Run must run for the writes to happen.
func New(s Settings, st Store, log *slog.Logger) *Tracker {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{st: st, log: log, writes: make(chan change, Backlog), names: map[string]*store.Lockout{}}
	t.SetSettings(s)
	return t
}

// change is one write for the store: the state of a name after a failure
// at at, or (clear) a success.
type change struct {
	l     store.Lockout
	at    time.Time
	clear bool
}

// Share makes the tracker count with the other gateways of a shared
// store: each failure is also added to the store's count (r), which sums
// every gateway's, and when that sum locks a name this gateway's memory
// had not, the name is locked here too and onLock is called (for the
// lockout event). The other gateways learn of it through the store's
// lockouts revision (Load). Call it before Run.
func (t *Tracker) Share(r Recorder, onLock func(store.Lockout)) {
	t.shared, t.onLock = r, onLock
}

// SetSettings changes the policy (a reload); counts are kept.
func (t *Tracker) SetSettings(s Settings) { t.settings.Store(&s) }

// Settings returns the policy in force.
func (t *Tracker) Settings() Settings { return *t.settings.Load() }

// Load replaces the counts in memory with the store's.
func (t *Tracker) Load(ctx context.Context) error {
	if t.st == nil {
		return nil
	}
	all, err := t.st.Lockouts(ctx)
	if err != nil {
		return err
	}
	names := make(map[string]*store.Lockout, len(all))
	for _, l := range all {
		names[l.Name] = &l
	}
	t.mu.Lock()
	t.names = names
	t.mu.Unlock()
	return nil
}

// Check reports whether name is locked at now, and until when. A locked
// name's login must be refused without asking any back-end.
func (t *Tracker) Check(name string, now time.Time) (locked bool, until time.Time) {
	if t.settings.Load().Threshold <= 0 {
		return false, time.Time{}
	}
	t.mu.Lock()
	l := t.names[name]
	if l != nil && now.Before(l.LockedUntil) {
		until = l.LockedUntil
	}
	t.mu.Unlock()
	if until.IsZero() {
		return false, time.Time{}
	}
	t.refused.Add(1)
	return true, until
}

// Failed counts a failed login of name at now. It reports whether this
// failure locked the name, and until when.
func (t *Tracker) Failed(name string, now time.Time) (lockedNow bool, until time.Time) {
	s := t.settings.Load()
	if s.Threshold <= 0 {
		return false, time.Time{}
	}
	t.mu.Lock()
	l := t.names[name]
	if l == nil {
		t.makeRoomLocked(now, s)
		l = &store.Lockout{Name: name}
		t.names[name] = l
	}
	if now.Before(l.LockedUntil) {
		// A login that was let through before the lockout began.
		until = l.LockedUntil
		t.mu.Unlock()
		return false, until
	}
	if l.Fail(now, s.Threshold, s.Window, s.Duration) {
		lockedNow, until = true, l.LockedUntil
	}
	saved := *l
	t.mu.Unlock()
	if lockedNow {
		t.lockouts.Add(1)
	}
	t.write(change{l: saved, at: now})
	return lockedNow, until
}

// Succeeded forgets the failures of name after a successful login.
func (t *Tracker) Succeeded(name string) {
	t.mu.Lock()
	_, had := t.names[name]
	delete(t.names, name)
	t.mu.Unlock()
	if had {
		t.write(change{l: store.Lockout{Name: name}, clear: true})
	}
}

// Unlock forgets name at once, in memory only (the store's Unlock has
// already deleted the row when an operator unlocks).
func (t *Tracker) Unlock(name string) {
	t.mu.Lock()
	delete(t.names, name)
	t.mu.Unlock()
}

// Locked lists the names locked at now.
func (t *Tracker) Locked(now time.Time) []store.Lockout {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []store.Lockout
	for _, l := range t.names {
		if now.Before(l.LockedUntil) {
			out = append(out, *l)
		}
	}
	return out
}

// makeRoomLocked keeps names below MaxNames: it forgets the names whose
// window has passed, then, if that was not enough, unlocked names in map
// order (random).
func (t *Tracker) makeRoomLocked(now time.Time, s *Settings) {
	if len(t.names) < MaxNames {
		return
	}
	for n, l := range t.names {
		if !now.Before(l.LockedUntil) && now.Sub(l.WindowStart) > s.Window {
			delete(t.names, n)
		}
	}
	for n, l := range t.names {
		if len(t.names) < MaxNames {
			return
		}
		if !now.Before(l.LockedUntil) {
			delete(t.names, n)
		}
	}
}

func (t *Tracker) write(c change) {
	if t.st == nil {
		return
	}
	select {
	case t.writes <- c:
	default:
		t.dropped.Add(1)
	}
}

// Run writes the changes to the store, in order, and prunes the store's
// stale rows every prune interval, until ctx ends; then it writes what is
// queued and returns.
func (t *Tracker) Run(ctx context.Context, prune time.Duration) {
	if t.st == nil {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(prune)
	defer tick.Stop()
	for {
		select {
		case c := <-t.writes:
			t.save(c)
		case now := <-tick.C:
			s := t.settings.Load()
			if _, err := t.st.PruneLockouts(ctx, now, now.Add(-s.Window)); err != nil {
				t.log.Warn("lockout: pruning the store failed", slog.Any("err", err))
			}
		case <-ctx.Done():
			for {
				select {
				case c := <-t.writes:
					t.save(c)
				default:
					return
				}
			}
		}
	}
}

func (t *Tracker) save(c change) {
	// Not the caller's context: a write at shutdown still goes out.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var err error
	switch {
	case c.clear:
		err = t.st.ClearLockout(ctx, c.l.Name)
	case t.shared != nil:
		err = t.record(ctx, c)
	default:
		err = t.st.SaveLockout(ctx, c.l)
	}
	if err != nil {
		if t.writeErrors.Add(1) == 1 {
			t.log.Warn("lockout: the store refused a write; counts hold until a restart", slog.Any("err", err))
		}
	}
}

// record adds a failure to the shared count and takes the sum into
// memory: a name the sum locks is locked here too.
func (t *Tracker) record(ctx context.Context, c change) error {
	s := t.settings.Load()
	sum, lockedNow, err := t.shared.RecordFailure(ctx, c.l.Name, c.at, s.Threshold, s.Window, s.Duration)
	if err != nil {
		return err
	}
	t.mu.Lock()
	l := t.names[c.l.Name]
	mine := l != nil && c.at.Before(l.LockedUntil)
	if l != nil && (sum.Failures > l.Failures || sum.LockedUntil.After(l.LockedUntil)) {
		*l = sum
	}
	t.mu.Unlock()
	if lockedNow && !mine && l != nil {
		// Locked by the failures of several gateways together.
		t.lockouts.Add(1)
		if t.onLock != nil {
			t.onLock(sum)
		}
	}
	return nil
}

// Stats returns the counters.
func (t *Tracker) Stats() Stats {
	return Stats{Lockouts: t.lockouts.Load(), Refused: t.refused.Load(),
		WritesDropped: t.dropped.Load(), WriteErrors: t.writeErrors.Load()}
}
