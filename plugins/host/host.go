package host

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Spec says how to run one plugin.
type Spec struct {
	// Name is the back-end instance name from the configuration, used in
	// logs, errors and Host.Backend.
	Name string
	// Path is the executable and Args its arguments. A built-in plugin is
	// the gatehouse binary itself, with Args such as
	// ["plugin", "run", "local"].
	Path string
	Args []string
	// SHA256, when set, pins the executable: it is hashed before every
	// start and not run unless the hash matches. 64 hexadecimal digits.
	SHA256 string
	// Config is handed to the plugin's Configure after every start.
	Config map[string]string
	// User is the account the plugin runs as when the gateway runs as
	// root; default "nobody". The plugin gets no supplementary groups and
	// no capabilities. Ignored when the gateway does not run as root.
	User string
	// Groups are supplementary groups, by name, the plugin gets besides
	// none when it runs as User: for a plugin that must reach a socket
	// of that group (winbindd's privileged pipe, group winbindd_priv).
	// Ignored when the gateway does not run as root.
	Groups []string
	// CallTimeout bounds every call to the plugin; default 5s.
	CallTimeout time.Duration
	// MaxConcurrent bounds the calls in flight to the plugin; further calls
	// wait, within their deadline. Default DefaultMaxConcurrent().
	MaxConcurrent int
	// Procs is the plugin process's GOMAXPROCS, unless Env sets one;
	// default 1, -1 for the Go runtime's own default (every core). A
	// plugin is a helper beside the gateway: with one P its runtime wakes
	// no idle thread per call, which measured, makes a call cost a third
	// less (see the package documentation).
	Procs int
	// Env is added to the plugin's environment, as "KEY=value". The
	// plugin does not inherit the gateway's environment: it gets PATH, TZ
	// and LANG, then Env.
	Env []string
	// HealthInterval is how often the plugin is asked for its health;
	// default 10s.
	HealthInterval time.Duration
	// StartTimeout bounds a start: exec, handshake, Describe, Configure.
	// Default 10s.
	StartTimeout time.Duration
}

// Defaults for the zero values of Spec.
const (
	DefaultUser           = "nobody"
	DefaultCallTimeout    = 5 * time.Second
	DefaultProcs          = 1
	DefaultHealthInterval = 10 * time.Second
	DefaultStartTimeout   = 10 * time.Second
)

// DefaultMaxConcurrent is the default bound of calls in flight to one
// plugin: 64 per core the gateway may use, so that calls queued under load
// travel together (see package channel) while a plugin that stops
// answering holds a bounded number of them.
func DefaultMaxConcurrent() int { return 64 * runtime.GOMAXPROCS(0) }

// Supervision constants; see the package documentation.
var (
	backoffMin = 100 * time.Millisecond
	backoffMax = 30 * time.Second
	// stableAfter is how long a plugin must run for the back-off to start
	// again from backoffMin.
	stableAfter = time.Minute
	// healthFailures is how many health checks in a row must go
	// unanswered before a plugin is restarted.
	healthFailures = 3
	// exitPoll is how often the supervisor asks go-plugin whether the
	// process exited, in case the exit was not reported through its log.
	exitPoll = time.Second
)

func (s *Spec) setDefaults() {
	if s.User == "" {
		s.User = DefaultUser
	}
	if s.CallTimeout <= 0 {
		s.CallTimeout = DefaultCallTimeout
	}
	if s.MaxConcurrent <= 0 {
		s.MaxConcurrent = DefaultMaxConcurrent()
	}
	switch {
	case s.Procs == 0:
		s.Procs = DefaultProcs
	case s.Procs < 0:
		s.Procs = 0 // the Go runtime's default
	}
	if s.HealthInterval <= 0 {
		s.HealthInterval = DefaultHealthInterval
	}
	if s.StartTimeout <= 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	s.SHA256 = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(s.SHA256)), "sha256:")
}

func (s *Spec) validate() error {
	if s.Name == "" {
		return errors.New("a plugin has no name")
	}
	if s.Path == "" {
		return fmt.Errorf("plugin %s: no executable path", s.Name)
	}
	if s.SHA256 != "" {
		if b, err := hex.DecodeString(s.SHA256); err != nil || len(b) != 32 {
			return fmt.Errorf("plugin %s: sha256 %q is not 64 hexadecimal digits", s.Name, s.SHA256)
		}
	}
	for _, e := range s.Env {
		if !strings.Contains(e, "=") {
			return fmt.Errorf("plugin %s: environment entry %q is not KEY=value", s.Name, e)
		}
	}
	return nil
}

// Host runs plugins and offers each as an authpolicy.Backend.
type Host struct {
	log *slog.Logger
	wg  sync.WaitGroup // one per RoutineSupervise

	onCall  atomic.Pointer[func(CallStat)]
	onEvent atomic.Pointer[func(Event)]

	plugins struct {
		sync.Mutex
		byName map[string]*plugin
		order  []*plugin
		closed bool
	}
}

// New returns a Host that logs to log.
func New(log *slog.Logger) *Host {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{log: log}
	h.plugins.byName = map[string]*plugin{}
	return h
}

// Start starts each plugin: it checks the executable's hash, runs it, does
// the handshake and asks the plugin to describe itself and to take its
// configuration. The plugins start in parallel. The error lists every
// plugin that did not come up, each named; such a plugin stays in state
// failed (its back-end answers errors) until Close, and the others run,
// each under a supervisor that restarts it when it dies.
func (h *Host) Start(ctx context.Context, specs ...Spec) error {
	var errs []error
	var todo []*plugin
	h.plugins.Lock()
	if h.plugins.closed {
		h.plugins.Unlock()
		return errors.New("plugin host is closed")
	}
	for _, s := range specs {
		s.setDefaults()
		if err := s.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := h.plugins.byName[s.Name]; dup {
			errs = append(errs, fmt.Errorf("plugin %s: started twice", s.Name))
			continue
		}
		p := newPlugin(h, s)
		h.plugins.byName[s.Name] = p
		h.plugins.order = append(h.plugins.order, p)
		todo = append(todo, p)
	}
	h.plugins.Unlock()

	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for _, p := range todo {
		wg.Go(func() {
			c, err := p.launch(ctx)
			if err != nil {
				err = fmt.Errorf("plugin %s: %w", p.spec.Name, err)
				p.log.Error("plugin did not start", slog.Any("cause", err))
				p.setFailed(err)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			// Add to h.wg only while Close has not begun to wait on it.
			h.plugins.Lock()
			closed := h.plugins.closed
			if !closed {
				h.wg.Add(1)
			}
			h.plugins.Unlock()
			if closed || !p.setRunning(c) {
				if !closed {
					h.wg.Done()
				}
				c.kill()
				return
			}
			p.log.Info("plugin started", slog.Int("pid", c.pid), slog.String("version", c.desc.Version),
				slog.String("capabilities", c.info.Capabilities.String()))
			h.event(Event{Plugin: p.spec.Name, Kind: EventStart, PID: c.pid})
			go p.RoutineSupervise(c)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// CallStat is one finished call to a plugin, for metrics.
type CallStat struct {
	Plugin   string // the back-end's name
	Call     string // "VerifyPlaintext", "Fragments", ...
	Duration time.Duration
	// Err is the call's error (nil for an answer, a rejection included).
	Err error
}

// OnCall has f called after every call to a plugin, from the caller's
// goroutine: f must be quick and safe for concurrent use. Nil stops it.
func (h *Host) OnCall(f func(CallStat)) {
	if f == nil {
		h.onCall.Store(nil)
		return
	}
	h.onCall.Store(&f)
}

// EventKind says what happened to a plugin process.
type EventKind uint8

const (
	// EventStart: the process started and answered.
	EventStart EventKind = iota + 1
	// EventExit: the process died or stopped answering (Reason says
	// why); the host restarts it unless it was refused for good.
	EventExit
	// EventRestart: a new process replaced the one that exited.
	EventRestart
)

// Event is a change in a plugin process's life, for the gateway's events.
type Event struct {
	Plugin string // the back-end's name
	Kind   EventKind
	PID    int
	Reason string // EventExit: why
}

// OnEvent has f called for every start, exit and restart of a plugin
// process, from the supervising goroutine: f must be quick. Nil stops it.
func (h *Host) OnEvent(f func(Event)) {
	if f == nil {
		h.onEvent.Store(nil)
		return
	}
	h.onEvent.Store(&f)
}

func (h *Host) event(e Event) {
	if f := h.onEvent.Load(); f != nil {
		(*f)(e)
	}
}

// Backend returns the back-end of the plugin started under name. The
// object stays valid across restarts of the process.
func (h *Host) Backend(name string) (authpolicy.Backend, bool) {
	h.plugins.Lock()
	defer h.plugins.Unlock()
	p, ok := h.plugins.byName[name]
	if !ok {
		return nil, false
	}
	return p, true
}

// Status reports every plugin, in the order they were started.
func (h *Host) Status() []Status {
	h.plugins.Lock()
	ps := append([]*plugin(nil), h.plugins.order...)
	h.plugins.Unlock()
	out := make([]Status, len(ps))
	for i, p := range ps {
		out[i] = p.status()
	}
	return out
}

// Close stops every plugin (asking each to exit, killing it after two
// seconds) and waits for their supervisors. Calls in flight fail.
func (h *Host) Close() error {
	h.plugins.Lock()
	if h.plugins.closed {
		h.plugins.Unlock()
		return nil
	}
	h.plugins.closed = true
	ps := append([]*plugin(nil), h.plugins.order...)
	h.plugins.Unlock()
	for _, p := range ps {
		p.shutdown()
	}
	h.wg.Wait()
	for _, p := range ps {
		p.setStopped()
	}
	return nil
}

// plugin is one supervised plugin and the authpolicy.Backend for it.
type plugin struct {
	spec Spec
	log  *slog.Logger
	host *Host
	sem  chan struct{} // MaxConcurrent call slots

	stop     chan struct{} // closed by shutdown
	stopCtx  context.Context
	stopOnce sync.Once
	cancel   context.CancelFunc

	info     atomic.Pointer[authpolicy.Info] // from the last Describe
	warnings limiter

	// suspicion wakes the supervisor to ping the process: a call timed
	// out.
	suspicion chan struct{}

	counters struct {
		waited  atomic.Uint64 // calls that found every call slot busy
		refused atomic.Uint64 // calls whose deadline passed waiting for a slot
	}

	// live is the current process and the plugin's state, owned by the
	// supervisor; calls read it.
	live struct {
		sync.Mutex
		conn        *conn         // nil unless running
		ready       chan struct{} // closed when conn is set, or for good once failed/stopped
		readyClosed bool
		state       State
		since       time.Time
		version     string
		caps        authpolicy.Capability
		pid         int
		protocol    int
		restarts    int
		lastErr     string
	}
}

func newPlugin(h *Host, s Spec) *plugin {
	p := &plugin{
		spec: s,
		log:  h.log.With(slog.String("plugin", s.Name)),
		host: h,
		sem:  make(chan struct{}, s.MaxConcurrent),
		stop: make(chan struct{}),

		suspicion: make(chan struct{}, 1),
	}
	p.stopCtx, p.cancel = context.WithCancel(context.Background())
	p.live.ready = make(chan struct{})
	p.live.state = StateStarting
	p.live.since = time.Now()
	return p
}

func (p *plugin) shutdown() {
	p.stopOnce.Do(func() {
		close(p.stop)
		p.cancel()
	})
}

func (p *plugin) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

func (p *plugin) setStateLocked(s State) {
	if p.live.state != s {
		p.live.state = s
		p.live.since = time.Now()
	}
}

// setRunning publishes c; false when the plugin was stopped meanwhile.
func (p *plugin) setRunning(c *conn) bool {
	p.live.Lock()
	defer p.live.Unlock()
	if p.stopped() || p.live.state == StateStopped {
		return false
	}
	p.info.Store(&c.info)
	p.live.conn = c
	p.live.pid = c.pid
	p.live.protocol = c.protocol
	p.live.version = c.desc.Version
	p.live.caps = c.info.Capabilities
	p.setStateLocked(StateRunning)
	if !p.live.readyClosed {
		close(p.live.ready)
		p.live.readyClosed = true
	}
	return true
}

// retire takes c out of service (if it still is) and notes why.
func (p *plugin) retire(c *conn, state State, cause error) {
	p.live.Lock()
	defer p.live.Unlock()
	if p.live.conn == c {
		p.live.conn = nil
		p.live.pid, p.live.protocol = 0, 0
		if p.live.readyClosed {
			p.live.ready = make(chan struct{})
			p.live.readyClosed = false
		}
	}
	if cause != nil {
		p.live.lastErr = cause.Error()
	}
	if p.live.state != StateStopped {
		p.setStateLocked(state)
	}
}

// setFailed ends the plugin for good: calls fail at once.
func (p *plugin) setFailed(err error) {
	p.live.Lock()
	defer p.live.Unlock()
	p.live.conn = nil
	p.live.pid, p.live.protocol = 0, 0
	p.live.lastErr = err.Error()
	if p.live.state != StateStopped {
		p.setStateLocked(StateFailed)
	}
	if !p.live.readyClosed {
		close(p.live.ready)
		p.live.readyClosed = true
	}
}

func (p *plugin) setStopped() {
	p.live.Lock()
	defer p.live.Unlock()
	p.live.conn = nil
	p.live.pid, p.live.protocol = 0, 0
	p.setStateLocked(StateStopped)
	if !p.live.readyClosed {
		close(p.live.ready)
		p.live.readyClosed = true
	}
}

func (p *plugin) noteError(err error) {
	p.live.Lock()
	p.live.lastErr = err.Error()
	p.live.Unlock()
}

func (p *plugin) countRestart() {
	p.live.Lock()
	p.live.restarts++
	p.live.Unlock()
}

func (p *plugin) status() Status {
	p.live.Lock()
	defer p.live.Unlock()
	return Status{
		Name:         p.spec.Name,
		Version:      p.live.version,
		Capabilities: p.live.caps,
		PID:          p.live.pid,
		State:        p.live.state,
		Restarts:     p.live.restarts,
		LastError:    p.live.lastErr,
		Since:        p.live.since,
		Protocol:     p.live.protocol,
		CallsWaited:  p.counters.waited.Load(),
		CallsRefused: p.counters.refused.Load(),
	}
}

// errStopped is the cause of calls to a closed host.
var errStopped = errors.New("the plugin host is closed")

// current returns the running connection, waiting for a start or restart
// to finish within ctx and deadline.
func (p *plugin) current(ctx context.Context, deadline time.Time) (*conn, error) {
	var expired <-chan time.Time
	for {
		p.live.Lock()
		c, ready, state, lastErr := p.live.conn, p.live.ready, p.live.state, p.live.lastErr
		p.live.Unlock()
		switch {
		case c != nil:
			return c, nil
		case state == StateStopped:
			return nil, errStopped
		case state == StateFailed:
			return nil, fmt.Errorf("the plugin failed and is not running: %s", lastErr)
		}
		if expired == nil {
			t := time.NewTimer(time.Until(deadline))
			defer t.Stop()
			expired = t.C
		}
		var err error
		select {
		case <-ready:
			continue
		case <-ctx.Done():
			err = ctx.Err()
		case <-expired:
			err = context.DeadlineExceeded
		}
		if lastErr != "" {
			return nil, fmt.Errorf("the plugin is %s (last error: %s): %w", state, lastErr, err)
		}
		return nil, fmt.Errorf("the plugin is %s: %w", state, err)
	}
}

// limiter lets through a few warnings per second and counts the rest, so
// that a dead plugin under load does not flood the log.
type limiter struct {
	mu         sync.Mutex
	window     time.Time
	n          int
	suppressed int
}

const warningsPerSecond = 5

// allow reports whether to log now and how many were suppressed since the
// last one that was.
func (l *limiter) allow(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	if l.n >= warningsPerSecond {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
