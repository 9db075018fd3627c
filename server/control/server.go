package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// CallHandler is what the gateway plugs in: it is told about calls and
// answers them. Its methods run on the goroutine that owns the call's
// control connection, one at a time per connection; they should return
// quickly (start the session's own goroutines, do not run it) and must
// not call Server.Close. They may call Call.Disconnect and
// Call.WANErrorNotify, which only queue a request.
type CallHandler interface {
	// NewCall is asked about an Outgoing-Call-Request the server has
	// room for; c carries the Call IDs of both ends and the client's
	// addresses. A nil error accepts the call: the client gets an
	// Outgoing-Call-Reply "Connected" and, later, exactly one CallEnded.
	// An error refuses it: ErrNoResource (wrapped or not) answers
	// General Error, No-Resource; ErrDoNotAccept answers Do Not Accept;
	// anything else General Error, PAC-Error. The error is logged.
	NewCall(c *Call) error

	// CallEnded says the call is gone: the client cleared it, the
	// control connection closed or timed out, or Disconnect or
	// Server.Close ended it. cause says which in words for the log.
	// The Call ID may be handed out again after a quarantine.
	CallEnded(c *Call, cause string)

	// LinkInfo passes on a Set-Link-Info (RFC 2637 section 2.15): the
	// async control character maps PPP negotiated. PPP over GRE has no
	// use for them; the gateway may log them.
	LinkInfo(c *Call, sendACCM, receiveACCM uint32)
}

// Config is the configuration of a Server. The zero value of every field
// means its default.
type Config struct {
	// HostName and Vendor fill the Start-Control-Connection-Reply's Host
	// Name and Vendor String; default "gatehouse" and "Gatehouse".
	HostName, Vendor string

	// EchoInterval is how long a connection may be silent before the
	// server sends an Echo-Request; EchoTimeout is how long it then
	// waits for any message before it closes the connection. Both
	// default to 60 s, as RFC 2637 section 3.1.3 suggests. A negative
	// EchoInterval turns the keep-alive off.
	EchoInterval, EchoTimeout time.Duration

	// MaxCalls is the connection limit: the most calls the server
	// carries at once, across all control connections; default 100.
	MaxCalls int

	// SetupTimeout bounds the set-up: a connection that has sent no
	// Start-Control-Connection-Request within it is closed, and an
	// established one that carries no call for that long is stopped;
	// default 10 s.
	SetupTimeout time.Duration

	// StopTimeout is how long the server waits for the
	// Stop-Control-Connection-Reply after it sent the request, and so
	// bounds Close; default 2 s.
	StopTimeout time.Duration

	// RecvWindow is the Packet Recv. Window Size the server announces
	// in Outgoing-Call-Replies: how many GRE data packets a call may
	// have in flight towards it; default 64.
	RecvWindow uint16

	// Log receives the server's events; default slog.Default().
	Log *slog.Logger
}

// Defaults.
const (
	DefaultEchoInterval = 60 * time.Second
	DefaultEchoTimeout  = 60 * time.Second
	DefaultMaxCalls     = 100
	DefaultSetupTimeout = 10 * time.Second
	DefaultStopTimeout  = 2 * time.Second
	DefaultRecvWindow   = 64
)

func (c Config) withDefaults() Config {
	if c.HostName == "" {
		c.HostName = "gatehouse"
	}
	if c.Vendor == "" {
		c.Vendor = "Gatehouse"
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = DefaultEchoInterval
	}
	if c.EchoTimeout <= 0 {
		c.EchoTimeout = DefaultEchoTimeout
	}
	if c.MaxCalls <= 0 {
		c.MaxCalls = DefaultMaxCalls
	}
	if c.SetupTimeout <= 0 {
		c.SetupTimeout = DefaultSetupTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.RecvWindow == 0 {
		c.RecvWindow = DefaultRecvWindow
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Stats are counters since New.
type Stats struct {
	Connections  uint64 // TCP connections accepted
	Calls        uint64 // calls set up (Outgoing-Call-Reply "Connected")
	CallsRefused uint64 // Outgoing-Call-Requests refused: limit reached, or the CallHandler said no
	Malformed    uint64 // connections closed for a malformed control message
	EchoTimeouts uint64 // connections closed because the client answered no Echo-Request
}

// Server is the PAC end of PPTP control connections: it accepts them on
// TCP port 1723, answers Outgoing-Call-Requests through a CallHandler and
// keeps every connection alive or tears it down.
type Server struct {
	cfg     Config
	handler CallHandler
	log     *slog.Logger
	calls   *callTable
	limiter logLimiter

	// wg counts every Routine… goroutine of every connection.
	wg sync.WaitGroup

	state struct {
		sync.Mutex
		closed    bool
		listeners map[net.Listener]struct{}
		conns     map[*conn]struct{}
	}

	stats struct {
		connections, calls, refused, malformed, echoTimeouts atomic.Uint64
	}
}

// New returns a Server that answers calls through h.
func New(cfg Config, h CallHandler) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		handler: h,
		log:     cfg.Log,
		calls:   newCallTable(cfg.MaxCalls, callIDQuarantine),
		limiter: logLimiter{burst: 10, every: time.Second},
	}
	s.state.listeners = make(map[net.Listener]struct{})
	s.state.conns = make(map[*conn]struct{})
	return s
}

// Serve accepts control connections on ln until Close, and then returns
// ErrServerClosed. It may be called for several listeners at once (IPv4
// and IPv6, say). Temporary accept errors (too many open files) are
// logged and retried with back-off; any other ends Serve.
func (s *Server) Serve(ln net.Listener) error {
	if !s.trackListener(ln, true) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.trackListener(ln, false)
	log := s.log.With(slog.String("listen", ln.Addr().String()))
	log.Debug("routine started", slog.String("routine", "Serve"))
	defer log.Debug("routine stopped", slog.String("routine", "Serve"))

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closed() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("control: accept on %v: %w", ln.Addr(), err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if ok, suppressed := s.limiter.allow(time.Now()); ok {
				log.LogAttrs(context.Background(), slog.LevelWarn, "cannot accept control connection", withSuppressed(suppressed,
					slog.String("cause", err.Error()),
					slog.String("hint", "the process may be out of file descriptors (ulimit -n)"),
					slog.Duration("retry_in", backoff))...)
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.startConn(nc)
	}
}

// Close stops the server: it stops accepting, sends a
// Stop-Control-Connection-Request (reason Stop-Local-Shutdown) on every
// established control connection, waits up to StopTimeout for the
// replies, and closes every connection. Every call ends with the cause
// "local shutdown". Close returns once every connection's goroutines
// are done; calling it again waits the same way.
func (s *Server) Close() error {
	s.state.Lock()
	s.state.closed = true
	listeners := make([]net.Listener, 0, len(s.state.listeners))
	for ln := range s.state.listeners {
		listeners = append(listeners, ln)
	}
	conns := make([]*conn, 0, len(s.state.conns))
	for c := range s.state.conns {
		conns = append(conns, c)
	}
	s.state.Unlock()

	for _, ln := range listeners {
		ln.Close()
	}
	for _, c := range conns {
		c.post(request{kind: requestStop, cause: causeLocalShutdown})
	}
	s.wg.Wait()
	return nil
}

// Calls returns the number of calls the server carries now.
func (s *Server) Calls() int { return s.calls.len() }

// Stats returns the counters since New.
func (s *Server) Stats() Stats {
	return Stats{
		Connections:  s.stats.connections.Load(),
		Calls:        s.stats.calls.Load(),
		CallsRefused: s.stats.refused.Load(),
		Malformed:    s.stats.malformed.Load(),
		EchoTimeouts: s.stats.echoTimeouts.Load(),
	}
}

func (s *Server) closed() bool {
	s.state.Lock()
	defer s.state.Unlock()
	return s.state.closed
}

// trackListener adds or removes ln; adding fails once the server is
// closed.
func (s *Server) trackListener(ln net.Listener, add bool) bool {
	s.state.Lock()
	defer s.state.Unlock()
	if !add {
		delete(s.state.listeners, ln)
		return true
	}
	if s.state.closed {
		return false
	}
	s.state.listeners[ln] = struct{}{}
	return true
}

// startConn starts the two goroutines of a new control connection.
func (s *Server) startConn(nc net.Conn) {
	c := newConn(s, nc)
	s.state.Lock()
	if s.state.closed {
		s.state.Unlock()
		nc.Close()
		return
	}
	s.state.conns[c] = struct{}{}
	s.wg.Add(2)
	s.state.Unlock()

	s.stats.connections.Add(1)
	go c.RoutineReadFromTCP()
	go c.RoutineControl()
}

func (s *Server) removeConn(c *conn) {
	s.state.Lock()
	delete(s.state.conns, c)
	s.state.Unlock()
}

// addrPort returns the address and port of a, with IPv4-mapped IPv6
// addresses unmapped, or the zero value when a is not an IP address.
func addrPort(a net.Addr) netip.AddrPort {
	var ap netip.AddrPort
	if ta, ok := a.(*net.TCPAddr); ok {
		ap = ta.AddrPort()
	} else if a != nil {
		ap, _ = netip.ParseAddrPort(a.String())
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// logLimiter lets through burst log lines, then one per every; it keeps
// a flood of probes on port 1723 from flooding the log. Lines it holds
// back are counted and the count goes with the next line let through.
type logLimiter struct {
	burst int
	every time.Duration

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int
}

// withSuppressed adds the count of lines logLimiter held back, if any.
func withSuppressed(suppressed int, attrs ...slog.Attr) []slog.Attr {
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	return attrs
}

func (l *logLimiter) allow(now time.Time) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = float64(l.burst)
	} else {
		l.tokens = min(float64(l.burst), l.tokens+float64(now.Sub(l.last))/float64(l.every))
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
