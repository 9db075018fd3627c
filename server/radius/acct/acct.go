package acct

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2866"
	"layeh.com/radius/rfc2869"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
)

// Cause is why a session ended; its value is the Acct-Terminate-Cause
// (RFC 2866 section 5.10).
type Cause uint32

// The causes a PPTP gateway produces.
const (
	CauseUserRequest    Cause = 1  // the client hung up (LCP Terminate, Stop-Control-Connection from the peer)
	CauseLostCarrier    Cause = 2  // echo timeout, TCP connection lost, no GRE
	CauseLostService    Cause = 3  // the back-end or tunnel went away
	CauseIdleTimeout    Cause = 4  // idle timer
	CauseSessionTimeout Cause = 5  // Session-Timeout reached
	CauseAdminReset     Cause = 6  // an operator disconnected the session
	CauseAdminReboot    Cause = 7  // the gateway is shutting down
	CausePortError      Cause = 8  // a protocol error ended the session
	CauseNASError       Cause = 9  // internal error in the gateway
	CauseNASRequest     Cause = 10 // the gateway ended it for another reason (reload, firewall)
	CauseUserError      Cause = 17 // the client misbehaved (bad negotiation, MPPE refused)
)

// String returns the RADIUS dictionary name.
func (c Cause) String() string {
	return rfc2866.AcctTerminateCause(c).String()
}

// Record identifies a session.
type Record struct {
	// SessionID is unique per session (Acct-Session-Id).
	SessionID string
	User      string
	// FramedIP is the client's address inside the tunnel.
	FramedIP netip.Addr
	// CallingStation is the client's public address (Calling-Station-Id).
	CallingStation string
	// Class values from the Access-Accept, echoed back.
	Class [][]byte
	// Authentic is Acct-Authentic: 1 RADIUS, 2 Local, 0 not sent.
	Authentic uint32
}

// WithIdentity fills in what a login's identity attributes say about the
// session (authpolicy.Result.Identity.Attributes, as the RADIUS back-end
// reports them): Class, to be echoed, and Framed-IP-Address when FramedIP
// is not set yet. Accounting is then Authentic RADIUS when a Class came
// back, Local otherwise, unless Authentic is already set.
func (r Record) WithIdentity(attrs map[string][]string) Record {
	for _, c := range attrs["Class"] {
		r.Class = append(r.Class, []byte(c))
	}
	if !r.FramedIP.IsValid() {
		if v := attrs["Framed-IP-Address"]; len(v) > 0 {
			r.FramedIP, _ = netip.ParseAddr(v[0])
		}
	}
	if r.Authentic == 0 {
		r.Authentic = 2
		if len(attrs["Class"]) > 0 {
			r.Authentic = 1
		}
	}
	return r
}

// Counters are the session's traffic so far.
type Counters struct {
	InputOctets, OutputOctets   uint64 // from the client's point of view: input = received from the client
	InputPackets, OutputPackets uint64
}

// Config configures an Accountant.
type Config struct {
	Servers []radclient.Server
	// Timeout, Retries, DeadAfter: as radclient.Config.
	Timeout   time.Duration
	Retries   int
	DeadAfter int
	// InterimInterval between Interim-Updates; zero sends none.
	InterimInterval time.Duration
	NASIdentifier   string
	NASIPAddress    netip.Addr
}

// Accountant sends the accounting of every session.
type Accountant struct {
	cfg    Config
	log    *slog.Logger
	client *radclient.Client
	wg     sync.WaitGroup
	now    func() time.Time
}

// New returns an Accountant; log may be nil.
func New(cfg Config, log *slog.Logger) *Accountant {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := radclient.New(radclient.Config{Servers: cfg.Servers, Timeout: cfg.Timeout, Retries: cfg.Retries, DeadAfter: cfg.DeadAfter}, log)
	return &Accountant{cfg: cfg, log: log, client: c, now: time.Now}
}

// Session is one accounted session.
type Session struct {
	a        *Accountant
	rec      Record
	counters func() Counters
	start    time.Time
	stop     chan Cause
	once     sync.Once
	done     chan struct{}
}

// Start accounts a new session: it sends Start at once and Interim-Updates
// until Stop. counters is read for every Interim-Update and for Stop; it
// must be safe to call from another goroutine. A nil counters reports zero.
func (a *Accountant) Start(rec Record, counters func() Counters) *Session {
	if counters == nil {
		counters = func() Counters { return Counters{} }
	}
	s := &Session{a: a, rec: rec, counters: counters, start: a.now(), stop: make(chan Cause, 1), done: make(chan struct{})}
	a.wg.Add(1)
	go s.RoutineSession()
	return s
}

// Stop ends the session's accounting with cause: the Stop is sent (and
// its outcome logged) in the background. Only the first call counts.
func (s *Session) Stop(cause Cause) {
	s.once.Do(func() { s.stop <- cause })
}

// Done is closed once the Stop was sent or given up on.
func (s *Session) Done() <-chan struct{} { return s.done }

// Close waits until every stopped session's Stop was sent or given up on,
// or ctx ends. Sessions not stopped yet are not waited for: stop them
// first (CauseAdminReboot at shutdown).
func (a *Accountant) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() { a.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RoutineSession sends the session's requests in order.
func (s *Session) RoutineSession() {
	defer s.a.wg.Done()
	defer close(s.done)
	s.send(rfc2866.AcctStatusType_Value_Start, 0)
	var tick <-chan time.Time
	if s.a.cfg.InterimInterval > 0 {
		t := time.NewTicker(s.a.cfg.InterimInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
			s.send(rfc2866.AcctStatusType_Value_InterimUpdate, 0)
		case cause := <-s.stop:
			s.send(rfc2866.AcctStatusType_Value_Stop, cause)
			return
		}
	}
}

// Attributes builds the attributes of one Accounting-Request.
func (a *Accountant) Attributes(status rfc2866.AcctStatusType, rec Record, c Counters, sessionTime time.Duration, cause Cause, now time.Time) lr.Attributes {
	p := &lr.Packet{}
	_ = rfc2866.AcctStatusType_Add(p, status)
	_ = rfc2866.AcctSessionID_AddString(p, rec.SessionID)
	if rec.User != "" {
		_ = rfc2865.UserName_AddString(p, rec.User)
	}
	if a.cfg.NASIdentifier != "" {
		_ = rfc2865.NASIdentifier_AddString(p, a.cfg.NASIdentifier)
	}
	if a.cfg.NASIPAddress.Is4() {
		ip := a.cfg.NASIPAddress.As4()
		_ = rfc2865.NASIPAddress_Add(p, net.IP(ip[:]))
	}
	_ = rfc2865.NASPortType_Add(p, rfc2865.NASPortType_Value_Virtual)
	_ = rfc2865.ServiceType_Add(p, rfc2865.ServiceType_Value_FramedUser)
	_ = rfc2865.FramedProtocol_Add(p, rfc2865.FramedProtocol_Value_PPP)
	if rec.FramedIP.Is4() {
		ip := rec.FramedIP.As4()
		_ = rfc2865.FramedIPAddress_Add(p, net.IP(ip[:]))
	}
	if rec.CallingStation != "" {
		_ = rfc2865.CallingStationID_AddString(p, rec.CallingStation)
	}
	for _, cl := range rec.Class {
		_ = rfc2865.Class_Add(p, cl)
	}
	if rec.Authentic != 0 {
		_ = rfc2866.AcctAuthentic_Add(p, rfc2866.AcctAuthentic(rec.Authentic))
	}
	_ = rfc2869.EventTimestamp_Add(p, now)
	if status != rfc2866.AcctStatusType_Value_Start {
		_ = rfc2866.AcctSessionTime_Add(p, rfc2866.AcctSessionTime(sessionTime/time.Second))
		_ = rfc2866.AcctInputOctets_Add(p, rfc2866.AcctInputOctets(uint32(c.InputOctets)))
		_ = rfc2866.AcctOutputOctets_Add(p, rfc2866.AcctOutputOctets(uint32(c.OutputOctets)))
		if g := c.InputOctets >> 32; g > 0 {
			_ = rfc2869.AcctInputGigawords_Add(p, rfc2869.AcctInputGigawords(uint32(g)))
		}
		if g := c.OutputOctets >> 32; g > 0 {
			_ = rfc2869.AcctOutputGigawords_Add(p, rfc2869.AcctOutputGigawords(uint32(g)))
		}
		_ = rfc2866.AcctInputPackets_Add(p, rfc2866.AcctInputPackets(uint32(c.InputPackets)))
		_ = rfc2866.AcctOutputPackets_Add(p, rfc2866.AcctOutputPackets(uint32(c.OutputPackets)))
	}
	if status == rfc2866.AcctStatusType_Value_Stop {
		_ = rfc2866.AcctTerminateCause_Add(p, rfc2866.AcctTerminateCause(cause))
	}
	return p.Attributes
}

func (s *Session) send(status rfc2866.AcctStatusType, cause Cause) {
	now := s.a.now()
	var c Counters
	if status != rfc2866.AcctStatusType_Value_Start {
		c = s.counters()
	}
	elapsed := now.Sub(s.start)
	attrs := s.a.Attributes(status, s.rec, c, elapsed, cause, now)
	// A Stop gets more time: it is the record that must not be lost.
	timeout := 30 * time.Second
	if status == rfc2866.AcctStatusType_Value_Stop {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := s.a.client.Exchange(ctx, &radclient.Request{Code: lr.CodeAccountingRequest, Attributes: attrs})
	if err == nil && resp.Code != lr.CodeAccountingResponse {
		err = fmt.Errorf("server %s answered %v, not Accounting-Response", resp.Server, resp.Code)
	}
	args := []any{
		slog.String("status", status.String()), slog.String("session", s.rec.SessionID), slog.String("user", s.rec.User),
	}
	if status == rfc2866.AcctStatusType_Value_Stop {
		args = append(args, slog.String("cause", cause.String()), slog.Duration("session_time", elapsed),
			slog.Uint64("input_octets", c.InputOctets), slog.Uint64("output_octets", c.OutputOctets))
	}
	if err != nil {
		level := slog.LevelWarn
		if status == rfc2866.AcctStatusType_Value_Stop {
			level = slog.LevelError
		}
		s.a.log.Log(context.Background(), level, "RADIUS accounting not acknowledged", append(args, slog.String("err", err.Error()))...)
		return
	}
	s.a.log.Info("RADIUS accounting sent", append(args, slog.String("server", resp.Server))...)
}
