package logfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// DefaultSocket is the local syslog socket. systemd-journald serves it on
// systems that run it (the journal then forwards to rsyslog, if
// installed); otherwise the syslog daemon does.
const DefaultSocket = "/dev/log"

// DefaultTag is the program name syslog records carry (SYSLOG_IDENTIFIER
// in the journal).
const DefaultTag = "gatehouse"

// sendTimeout bounds how long one message may wait for a syslog daemon
// whose queue is full. After one such timeout, Syslog waits at most
// stalledTimeout per message until a send goes through again: a daemon
// that does not keep up costs the gateway one short pause, then lines
// are dropped and counted.
const (
	sendTimeout    = 250 * time.Millisecond
	stalledTimeout = time.Millisecond
)

// Severity is a syslog severity (RFC 5424 section 6.2.1, table 2).
type Severity uint8

const (
	Emergency Severity = iota
	Alert
	Critical
	Error
	Warning
	Notice
	Informational
	Debug
)

// SeverityOf maps a slog level to a syslog severity:
//
//	below Info          debug
//	Info                info
//	between Info, Warn  notice
//	Warn                warning
//	Error               err
//	Error+4 and above   crit
func SeverityOf(l slog.Level) Severity {
	switch {
	case l < slog.LevelInfo:
		return Debug
	case l == slog.LevelInfo:
		return Informational
	case l < slog.LevelWarn:
		return Notice
	case l < slog.LevelError:
		return Warning
	case l < slog.LevelError+4:
		return Error
	}
	return Critical
}

// Facility is a syslog facility (RFC 5424 section 6.2.1, table 1). The
// zero value means Daemon: kern is for the kernel alone.
type Facility uint8

const (
	User     Facility = 1
	Daemon   Facility = 3
	Auth     Facility = 4
	AuthPriv Facility = 10
	Local0   Facility = 16 + iota - 4
	Local1
	Local2
	Local3
	Local4
	Local5
	Local6
	Local7
)

var facilityNames = map[Facility]string{
	User: "user", Daemon: "daemon", Auth: "auth", AuthPriv: "authpriv",
	Local0: "local0", Local1: "local1", Local2: "local2", Local3: "local3",
	Local4: "local4", Local5: "local5", Local6: "local6", Local7: "local7",
}

func (f Facility) String() string {
	if f == 0 {
		f = Daemon
	}
	if s, ok := facilityNames[f]; ok {
		return s
	}
	return "Facility(" + strconv.Itoa(int(f)) + ")"
}

// ParseFacility reads a facility name: user, daemon, auth, authpriv,
// local0 to local7.
func ParseFacility(s string) (Facility, error) {
	for f, name := range facilityNames {
		if name == s {
			return f, nil
		}
	}
	return 0, fmt.Errorf("unknown syslog facility %q; write daemon, auth, authpriv, user or local0 to local7", s)
}

// SyslogOptions configure a Syslog. The zero value sends to /dev/log as
// "gatehouse", facility daemon.
type SyslogOptions struct {
	// Socket is the path of the local syslog socket (a Unix datagram
	// socket); empty means DefaultSocket.
	Socket string
	// Tag names the program in each record; empty means DefaultTag.
	Tag string
	// Facility: 0 means Daemon.
	Facility Facility
	// Errors is where send failures are reported, once per run of
	// failures; nil means standard error.
	Errors io.Writer

	now func() time.Time // tests
}

// SyslogStats counts what Syslog did since DialSyslog.
type SyslogStats struct {
	Sent   uint64
	Errors uint64
	// Lost counts messages that did not reach the daemon.
	Lost uint64
}

// Syslog sends log records to the local syslog daemon over its Unix
// datagram socket, in the format the C library's syslog(3) uses there:
//
//	<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE
//
// with PRI = facility*8 + severity and the time in the local time zone.
// journald and rsyslog read the tag, pid and severity from it. It is safe
// for concurrent use. Like File, it never returns an error to a writer:
// when the daemon is gone it reconnects (at most once a second), when it
// does not keep up it drops lines; both are counted and reported once.
type Syslog struct {
	opts SyslogOptions
	pid  int

	mu      sync.Mutex
	conn    *net.UnixConn // nil: dial again at retryAt
	retryAt time.Time
	stalled bool // the last send timed out
	failing bool
	lostRun uint64
	closed  bool
	stats   SyslogStats
	buf     []byte
}

// DialSyslog connects to the syslog socket. An error means there is no
// syslog daemon listening there (the caller logs it and goes on without
// syslog); after a successful dial, a daemon restart is handled.
func DialSyslog(opts SyslogOptions) (*Syslog, error) {
	if opts.Socket == "" {
		opts.Socket = DefaultSocket
	}
	if opts.Tag == "" {
		opts.Tag = DefaultTag
	}
	if opts.Facility == 0 {
		opts.Facility = Daemon
	}
	if _, ok := facilityNames[opts.Facility]; !ok {
		return nil, fmt.Errorf("logfile: syslog: %v cannot be used", opts.Facility)
	}
	if opts.Errors == nil {
		opts.Errors = os.Stderr
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	s := &Syslog{opts: opts, pid: os.Getpid()}
	if err := s.dialLocked(); err != nil {
		return nil, fmt.Errorf("logfile: syslog: %w", err)
	}
	return s, nil
}

func (s *Syslog) dialLocked() error {
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: s.opts.Socket, Net: "unixgram"})
	if err != nil {
		return err
	}
	s.conn = c
	s.stalled = false
	return nil
}

// Write sends p as one message at severity info; a trailing newline is
// removed. It always returns len(p), nil.
func (s *Syslog) Write(p []byte) (int, error) {
	s.Send(Informational, time.Time{}, p)
	return len(p), nil
}

// Send sends msg as one message with the given severity and time (the
// current time when zero). A trailing newline is removed.
func (s *Syslog) Send(sev Severity, t time.Time, msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.stats.Lost++
		return
	}
	now := s.opts.now()
	if t.IsZero() {
		t = now
	}
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	s.buf = fmt.Appendf(s.buf[:0], "<%d>%s %s[%d]: ", int(s.opts.Facility)*8+int(sev&7), t.Local().Format(time.Stamp), s.opts.Tag, s.pid)
	s.buf = append(s.buf, msg...)

	for attempt := 0; ; attempt++ {
		if s.conn == nil {
			if now.Before(s.retryAt) {
				break
			}
			if err := s.dialLocked(); err != nil {
				s.retryAt = now.Add(retryEvery)
				s.fail("connect", err)
				break
			}
		}
		timeout := sendTimeout
		if s.stalled {
			timeout = stalledTimeout
		}
		s.conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err := s.conn.Write(s.buf)
		if err == nil {
			s.stalled = false
			s.stats.Sent++
			s.recovered()
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.stalled = true
			s.fail("send", errors.New("the syslog daemon is not keeping up"))
			break
		}
		// The daemon restarted (a new socket) or went away: dial again,
		// once, now.
		s.conn.Close()
		s.conn = nil
		if attempt > 0 {
			s.retryAt = now.Add(retryEvery)
			s.fail("send", err)
			break
		}
	}
	s.stats.Lost++
	s.lostRun++
}

func (s *Syslog) fail(op string, err error) {
	s.stats.Errors++
	if s.failing {
		return
	}
	s.failing = true
	fmt.Fprintf(s.opts.Errors, "gatehouse: syslog %s: %s: %v; log lines are being lost until it works again (reported once)\n",
		s.opts.Socket, op, err)
}

func (s *Syslog) recovered() {
	if !s.failing {
		return
	}
	fmt.Fprintf(s.opts.Errors, "gatehouse: syslog %s: sending works again; %d log lines were lost\n", s.opts.Socket, s.lostRun)
	s.failing, s.lostRun = false, 0
}

// Stats returns the counters.
func (s *Syslog) Stats() SyslogStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close closes the socket. Later messages are counted as lost.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

// Format is how a record's attributes are written in the message.
type Format uint8

const (
	// Text: msg="login refused" user=bob ... (slog.TextHandler).
	Text Format = iota
	// JSON: {"msg":"login refused","user":"bob",...} (slog.JSONHandler),
	// for a syslog that forwards to a SIEM.
	JSON
)

// Handler returns a slog.Handler that formats each record with slog's
// text or JSON handler and sends it as one message, with the severity
// SeverityOf(record level) and the record's time in the syslog header. The
// time and level attributes are left out of the message (the header
// carries them); opts.ReplaceAttr, when set, sees the others.
func (s *Syslog) Handler(format Format, opts *slog.HandlerOptions) slog.Handler {
	o := slog.HandlerOptions{}
	if opts != nil {
		o = *opts
	}
	replace := o.ReplaceAttr
	o.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		if replace != nil {
			return replace(groups, a)
		}
		return a
	}
	sk := &sink{s: s}
	h := &syslogHandler{sink: sk}
	if format == JSON {
		h.inner = slog.NewJSONHandler(sk, &o)
	} else {
		h.inner = slog.NewTextHandler(sk, &o)
	}
	return h
}

// sink receives the one Write the inner handler makes per record, and
// sends it with the severity and time syslogHandler.Handle set.
type sink struct {
	mu  sync.Mutex
	s   *Syslog
	sev Severity
	t   time.Time
}

func (k *sink) Write(p []byte) (int, error) {
	k.s.Send(k.sev, k.t, p)
	return len(p), nil
}

type syslogHandler struct {
	inner slog.Handler
	sink  *sink // shared by the handlers WithAttrs and WithGroup derive
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.sev, h.sink.t = SeverityOf(r.Level), r.Time
	return h.inner.Handle(ctx, r)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{inner: h.inner.WithAttrs(as), sink: h.sink}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{inner: h.inner.WithGroup(name), sink: h.sink}
}
