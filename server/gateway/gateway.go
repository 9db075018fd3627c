package gateway

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

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
	"github.com/gatehouse-vpn/gatehouse/server/ippool"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/ratelimit"
	"github.com/gatehouse-vpn/gatehouse/server/session"
	"github.com/gatehouse-vpn/gatehouse/server/tun"
)

// Config is the gateway's configuration.
type Config struct {
	// Listen is the TCP address of the control connections (port 1723);
	// its IP is also the local GRE address.
	Listen netip.AddrPort
	// LocalAddress is the gateway's own PPP address.
	LocalAddress netip.Addr
	// Pool hands out the clients' PPP addresses; the caller routes it to
	// the TUN.
	Pool *ippool.Pool
	// DNS and WINS are offered to clients by IPCP.
	DNS, WINS []netip.Addr
	// AcceptClientAddress lets a client keep an address it proposes when
	// it is in the pool and free.
	AcceptClientAddress bool
	// MaxConnections is the most calls carried at once (control.MaxCalls).
	MaxConnections int
	// MTU bounds the IP packets read from the TUN; default 1400.
	MTU int
	// EchoInterval and EchoTimeout are the control connection's keep-alive.
	EchoInterval, EchoTimeout time.Duration
	// IdleTimeout, when set, ends a session that has sent no IP packet
	// for that long; a back-end's Idle-Timeout attribute overrides it.
	// Multicast, broadcast and packets the user's firewall policy drops
	// are not activity.
	IdleTimeout time.Duration
	// CallRate, when above 0, is how many calls a second one client
	// address may set up, in bursts of up to CallBurst (package
	// ratelimit): each call is a login attempt, so this bounds how fast
	// one source can guess passwords, and one source cannot take every
	// call the others need. A call over the rate is refused (Outgoing-
	// Call-Reply Do Not Accept) and counted (Stats.RateLimited).
	CallRate  float64
	CallBurst int
	// LCP and CCP are the PPP policies, built by the caller.
	LCP lcp.Policy
	CCP ccp.Policy
	// Auth decides logins; the caller adapts authpolicy.Engine to it.
	Auth session.Authenticator
	// Authorize, when set, decides whether the user may use the VPN and
	// which firewall policy filters the packets the user sends. It runs as
	// the policy engine's Approval, before the login is committed (see the
	// package documentation). Nil lets every accepted user in, unfiltered.
	Authorize func(res *authpolicy.Result) Authorization
	// SessionUp, when set, is called once a session reaches the data
	// phase (user and address known) with a function that reads its live
	// counters; the function it returns is called once the session has
	// ended, with the cause and the final snapshot. Accounting hooks
	// here. Neither may block for long.
	SessionUp func(s SessionInfo, live func() session.Info) (ended func(cause string, final session.Info))
	// TUN is opened and configured by the caller; the Gateway reads and
	// writes it while Run serves and closes it when Run has served, so
	// that RoutineReadTUN ends. (Run does not close it when it fails to
	// start.)
	TUN tun.Device
	// Log receives the gateway's events; default slog.Default().
	Log *slog.Logger

	// session is a test hook to shorten the session's timers.
	session func(*session.Config)
	// greHint is a test hook: how long a call may go without a GRE packet
	// before the hint is logged; default GREHintAfter.
	greHint time.Duration
}

// GREHintAfter is how long after a call is set up the gateway waits for the
// client's first GRE packet before it logs that something on the path
// drops GRE (and counts it in Stats.GREBlocked). The Linux and Windows
// clients send their first LCP Configure-Request at once.
const GREHintAfter = 5 * time.Second

// Authorization is what Config.Authorize decides for an accepted login.
type Authorization struct {
	Allowed bool
	// Reason says why, for the session's log ("VPN access on for the user
	// in pptp.access.users").
	Reason string
	// Filter is the firewall policy for the packets the user sends; nil
	// allows everything. FilterSource says where it came from.
	Filter       *firewall.Policy
	FilterSource string
}

// Stats are the gateway's counters since New.
type Stats struct {
	GREReceived    uint64 // datagrams read from the GRE socket
	GREMalformed   uint64 // bad IPv4 header or gre.Parse failed
	GREUnknownCall uint64 // Call ID of no call
	GREWrongSource uint64 // source address not the call's peer
	GREOld         uint64 // dropped by the Window: old, duplicate, far ahead
	GRESendErrors  uint64 // sendto failed
	TUNReceived    uint64 // packets read from the TUN
	TUNMalformed   uint64 // shorter than an IPv4 header
	// TUNNotIPv4 counts packets of another IP version the host routed to
	// the TUN (the gateway carries IPv4 only and turns IPv6 off on the
	// device, so this stays 0 unless something turns it back on).
	TUNNotIPv4   uint64
	TUNNoSession uint64 // destination of no session
	// RateLimited counts calls refused because their client address was
	// over Config.CallRate.
	RateLimited uint64
	// GREBlocked counts calls that got no GRE packet within GREHintAfter
	// of their set-up: a firewall or NAT on the path drops GRE.
	GREBlocked uint64
	// Packets a session decrypted but the gateway did not pass on.
	SpoofedSource  uint64 // source address not the session's own
	FirewallDenied uint64 // dropped by the user's firewall policy
	// Bytes read from the GRE socket (IPv4 headers included) and from
	// the TUN.
	GREReceivedBytes, TUNReceivedBytes uint64
}

// SessionInfo is a snapshot of one call for status pages.
type SessionInfo struct {
	// ID is unique among the gateway's sessions (RADIUS Acct-Session-Id).
	ID string
	// CallID is ours, PeerCallID the client's.
	CallID, PeerCallID uint16
	// Client is the client's public address.
	Client netip.Addr
	// Started is when the call was set up.
	Started time.Time
	// Attributes are what the login's back-ends said of the user
	// (authpolicy.Identity.Attributes: RADIUS Class, Filter-Id, ...).
	Attributes map[string][]string
	// Info is the session's snapshot: user, PPP address, MPPE, counters.
	session.Info
}

// Gateway is the PPTP front door: control connections, GRE and the TUN.
type Gateway struct {
	cfg Config
	log *slog.Logger
	mtu int

	ctrl *control.Server
	gre  *greSocket // set by Run before any call exists

	calls struct {
		sync.RWMutex
		byID   map[uint16]*call
		byAddr map[netip.Addr]*call
	}

	stats struct {
		greReceived, greMalformed, greUnknownCall, greWrongSource, greOld, greSendErrors atomic.Uint64
		tunReceived, tunMalformed, tunNoSession, tunNotIPv4                              atomic.Uint64
		greBytes, tunBytes                                                               atomic.Uint64
		spoofed, firewallDenied                                                          atomic.Uint64
		greBlocked, rateLimited                                                          atomic.Uint64
	}
	limit *ratelimit.Limiter // nil: no CallRate; set by Run before any call

	started time.Time      // New's time, the first part of session IDs
	seq     atomic.Uint64  // the second
	wg      sync.WaitGroup // Routine… goroutines
	callsWG sync.WaitGroup // one per call, until its session is done
}

// New checks cfg and returns a Gateway that has not started.
func New(cfg Config) (*Gateway, error) {
	switch {
	case !cfg.Listen.IsValid() || !cfg.Listen.Addr().Is4():
		return nil, errors.New("gateway: Listen must be an IPv4 address and port")
	case cfg.Pool == nil:
		return nil, errors.New("gateway: no address pool")
	case cfg.Auth == nil:
		return nil, errors.New("gateway: no authenticator")
	case cfg.TUN == nil:
		return nil, errors.New("gateway: no TUN device")
	}
	g := &Gateway{cfg: cfg, log: cfg.Log, mtu: cfg.MTU, started: time.Now()}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.mtu <= 0 {
		g.mtu = 1400
	}
	g.calls.byID = map[uint16]*call{}
	g.calls.byAddr = map[netip.Addr]*call{}
	g.ctrl = control.New(control.Config{
		EchoInterval: cfg.EchoInterval,
		EchoTimeout:  cfg.EchoTimeout,
		MaxCalls:     cfg.MaxConnections,
		Log:          g.log,
	}, g)
	return g, nil
}

// shutdownWait bounds how long Run waits for sessions to finish their LCP
// Terminate exchange after the control server closed.
const shutdownWait = 5 * time.Second

// Run opens the GRE socket and the TCP listener, serves until ctx ends, then
// closes every call (Stop-Control-Connection-Request, LCP Terminate) and
// returns nil, or the error that kept it from starting.
func (g *Gateway) Run(ctx context.Context) error {
	g.limit = ratelimit.New(g.cfg.CallRate, g.cfg.CallBurst)
	gs, err := openGRE(g.cfg.Listen.Addr())
	if err != nil {
		return err
	}
	g.gre = gs
	ln, err := net.Listen("tcp4", g.cfg.Listen.String())
	if err != nil {
		gs.close()
		return fmt.Errorf("gateway: listen: %w", err)
	}
	g.log.Info("pptp listening", slog.String("listen", ln.Addr().String()), slog.String("tun", g.cfg.TUN.Name()),
		slog.Int("gre_receive_buffer", gs.rcvbuf), slog.Int("gre_send_buffer", gs.sndbuf))

	g.wg.Add(1)
	go g.RoutineReadGRE()
	g.wg.Add(1)
	go g.RoutineReadTUN()
	serveErr := make(chan error, 1)
	go func() { serveErr <- g.ctrl.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, control.ErrServerClosed) {
			runErr = fmt.Errorf("gateway: serve: %w", err)
		}
	}
	g.ctrl.Close() // every call gets CallEnded, which closes its session
	done := make(chan struct{})
	go func() { g.callsWG.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(shutdownWait):
		g.log.Warn("sessions did not end in time", slog.Duration("waited", shutdownWait))
	}
	gs.close()
	g.cfg.TUN.Close()
	g.wg.Wait()
	g.log.Info("pptp stopped")
	return runErr
}

// Stats returns the counters since New.
func (g *Gateway) Stats() Stats {
	s := &g.stats
	return Stats{
		GREReceived: s.greReceived.Load(), GREMalformed: s.greMalformed.Load(),
		GREUnknownCall: s.greUnknownCall.Load(), GREWrongSource: s.greWrongSource.Load(),
		GREOld: s.greOld.Load(), GRESendErrors: s.greSendErrors.Load(),
		TUNReceived: s.tunReceived.Load(), TUNMalformed: s.tunMalformed.Load(), TUNNoSession: s.tunNoSession.Load(),
		TUNNotIPv4:       s.tunNotIPv4.Load(),
		GREReceivedBytes: s.greBytes.Load(), TUNReceivedBytes: s.tunBytes.Load(),
		SpoofedSource: s.spoofed.Load(), FirewallDenied: s.firewallDenied.Load(),
		GREBlocked: s.greBlocked.Load(), RateLimited: s.rateLimited.Load(),
	}
}

// Sessions returns a snapshot of every call.
func (g *Gateway) Sessions() []SessionInfo {
	g.calls.RLock()
	cs := make([]*call, 0, len(g.calls.byID))
	for _, c := range g.calls.byID {
		cs = append(cs, c)
	}
	g.calls.RUnlock()
	out := make([]SessionInfo, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.snapshot())
	}
	return out
}

// ErrNoSession is the error of Kill for an id no running session has.
var ErrNoSession = errors.New("no such session")

// CauseKilled begins the cause of a session its operator ended with Kill
// (accounting reports it as Admin-Reset).
const CauseKilled = "killed by the operator"

// Session returns the session with id, if it runs.
func (g *Gateway) Session(id string) (SessionInfo, bool) {
	if c := g.lookupSession(id); c != nil {
		return c.snapshot(), true
	}
	return SessionInfo{}, false
}

// Kill ends session id as an operator asks, reason saying why (it joins
// the cause: "killed by the operator: reason"). The session ends the way
// PPP and PPTP have a server end one: an LCP Terminate-Request, then,
// once the client acknowledged it or the LCP timer ran out, a
// Call-Disconnect-Notify, and a Stop-Control-Connection-Request when the
// control connection carries no other call; accounting sends its Stop
// with Acct-Terminate-Cause Admin-Reset. Kill returns once the end has
// begun.
func (g *Gateway) Kill(id, reason string) error {
	c := g.lookupSession(id)
	if c == nil {
		return fmt.Errorf("session %q: %w", id, ErrNoSession)
	}
	cause := CauseKilled
	if reason != "" {
		cause += ": " + reason
	}
	c.killed.Store(true)
	c.log.Info("pptp session killed", slog.String("user", c.s.Info().User), slog.String("reason", reason))
	c.s.Close(cause)
	return nil
}

// NewCall implements control.CallHandler: it creates the call's session and
// starts it.
func (g *Gateway) NewCall(cc *control.Call) error {
	if !g.limit.Allow(cc.Peer, time.Now()) {
		g.stats.rateLimited.Add(1)
		return fmt.Errorf("more than %g calls a second from %s (pptp.call_rate): %w", g.cfg.CallRate, cc.Peer, control.ErrDoNotAccept)
	}
	if g.cfg.Pool.Free() == 0 {
		return fmt.Errorf("address pool exhausted: %w", control.ErrNoResource)
	}
	c := newCall(g, cc)
	c.id = fmt.Sprintf("%08X-%d", g.started.Unix(), g.seq.Add(1))
	log := g.log.With(slog.String("session", c.id), slog.String("client", cc.Peer.String()),
		slog.Int("call_id", int(cc.ID)), slog.Int("peer_call_id", int(cc.PeerID)))
	c.log = log
	scfg := session.Config{
		LCP: g.cfg.LCP,
		IPCP: ipcp.Policy{
			LocalAddress: g.cfg.LocalAddress,
			Allocate:     c.allocate,
			Release:      c.release,
			DNS:          g.cfg.DNS,
			WINS:         g.cfg.WINS,
		},
		CCP:        g.cfg.CCP,
		Auth:       c,
		ServerName: "gatehouse",
		Log:        log,
	}
	if g.cfg.AcceptClientAddress {
		scfg.IPCP.AcceptPeerAddress = c.acceptPeer
	}
	// No goroutine per call besides the session's own: the session
	// calls back when it reaches the data phase and when it has ended.
	scfg.Established = func() { g.established(c) }
	scfg.Ended = func() { go g.finish(c) }
	if g.cfg.session != nil {
		g.cfg.session(&scfg)
	}
	c.s = session.New(scfg, c, c.deliver)

	g.calls.Lock()
	g.calls.byID[cc.ID] = c
	g.calls.Unlock()
	log.Info("pptp connection opened")
	after := g.cfg.greHint
	if after <= 0 {
		after = GREHintAfter
	}
	c.greHint = time.AfterFunc(after, func() { g.greHint(c, after) })
	g.callsWG.Add(1)
	c.s.Start()
	return nil
}

// greHint runs once a call's first GRE packet is overdue: the control
// connection (TCP 1723) got through, the GRE packets (IP protocol 47)
// did not, which is what a firewall or NAT without a PPTP helper does.
func (g *Gateway) greHint(c *call, after time.Duration) {
	if c.greSeen.Load() {
		return
	}
	select {
	case <-c.s.Done():
		return
	default:
	}
	g.stats.greBlocked.Add(1)
	c.log.Warn("no GRE packet from the client since the call was set up",
		slog.Int("call", int(c.ctl.ID)), slog.String("after", after.String()),
		slog.String("hint", "TCP port 1723 got through but GRE did not: a firewall or NAT on the path drops IP protocol 47 (GRE; it is a protocol, not TCP or UDP port 47); allow it, or enable the PPTP helper of the NAT"))
}

// CallEnded implements control.CallHandler: the control side is gone, so the
// session is asked to end; finish cleans up once it has.
func (g *Gateway) CallEnded(cc *control.Call, cause string) {
	g.calls.RLock()
	c := g.calls.byID[cc.ID]
	g.calls.RUnlock()
	if c == nil {
		return
	}
	c.ctrlCause.Store(&cause)
	c.s.Close(cause)
}

// LinkInfo implements control.CallHandler; PPP over GRE has no use for ACCMs.
func (g *Gateway) LinkInfo(cc *control.Call, sendACCM, receiveACCM uint32) {
	g.log.Debug("set link info", slog.Int("call_id", int(cc.ID)), slog.Uint64("send_accm", uint64(sendACCM)), slog.Uint64("receive_accm", uint64(receiveACCM)))
}

// finish cleans up after a session has ended: the control side is told
// (Call-Disconnect-Notify, or a hang-up after a kill), the timers are
// stopped, the address is released, SessionUp's ended hook runs and the
// call is logged. It runs on a goroutine of its own, started by the
// session's Ended hook, so that the control connection's locks are never
// taken on the session goroutine.
func (g *Gateway) finish(c *call) {
	defer g.callsWG.Done()
	// The session's cause says more (an authentication or CCP refusal
	// before the client hung up); the control side's is the fallback.
	cause := c.s.Cause()
	if p := c.ctrlCause.Load(); p != nil && cause == "" {
		cause = *p
	}
	if c.killed.Load() {
		c.ctl.Hangup(cause)
	} else {
		c.ctl.Disconnect(cause)
	}
	c.stopAckTimer()
	c.stopSessionTimer()
	c.greHint.Stop()
	if c.idle != nil {
		c.idle.Stop()
	}

	g.calls.Lock()
	delete(g.calls.byID, c.ctl.ID)
	for a, o := range g.calls.byAddr {
		if o == c {
			delete(g.calls.byAddr, a)
			g.cfg.Pool.Release(a) // only if the session did not release it
		}
	}
	g.calls.Unlock()

	in := c.s.Info()
	if c.ended != nil {
		c.ended(cause, in)
	}
	c.log.Info("pptp connection closed",
		slog.String("cause", cause),
		slog.String("user", in.User),
		slog.String("branch", in.Branch),
		slog.String("address", addrString(in.Address)),
		slog.Int("mppe_bits", in.MPPEBits),
		slog.Bool("mppe_stateless", in.Stateless),
		slog.Uint64("bytes_in", in.BytesIn), slog.Uint64("bytes_out", in.BytesOut),
		slog.Uint64("packets_in", in.PacketsIn), slog.Uint64("packets_out", in.PacketsOut),
		slog.Group("dropped",
			slog.Uint64("queue_full", in.DroppedQueueFull), slog.Uint64("not_ready", in.DroppedNotReady),
			slog.Uint64("plain_ip", in.DroppedPlainIP), slog.Uint64("decrypt", in.DroppedDecrypt),
			slog.Uint64("protocol", in.DroppedProtocol)),
		slog.Duration("duration", time.Since(c.started)))
}

// established runs on the session goroutine when the session reaches the
// data phase: it logs the address and MPPE, calls Config.SessionUp and
// starts the idle watch.
func (g *Gateway) established(c *call) {
	in := c.s.Info()
	mode := in.MPPEMode()
	if mode == "" {
		mode = "none: the session is not encrypted"
	}
	c.log.Info("pptp session established",
		slog.String("user", in.User),
		slog.String("branch", in.Branch),
		slog.String("address", addrString(in.Address)),
		slog.Int("mppe_bits", in.MPPEBits),
		slog.String("mppe_mode", mode))
	if g.cfg.SessionUp != nil {
		c.ended = g.cfg.SessionUp(c.snapshot(), c.s.Info)
	}
	c.idleLast, c.idleSince = c.active.Load(), time.Now()
	// Made stopped, then started: the callback reads c.idle.
	c.idle = time.AfterFunc(time.Hour, func() { g.watchIdle(c) })
	c.idle.Reset(idleEvery(g.idleOf(c)))
}

// idleOf is the call's idle timeout: the back-end's Idle-Timeout, or
// pptp.idle_timeout; 0 is none.
func (g *Gateway) idleOf(c *call) time.Duration {
	c.auth.Lock()
	defer c.auth.Unlock()
	if c.auth.idle > 0 {
		return c.auth.idle
	}
	return g.cfg.IdleTimeout
}

// idleEvery is how often the idle watch looks: a quarter of the timeout,
// between 100 ms and 5 s. A CoA-Request (Change) may set or change the
// timeout later, so the watch runs for every session; without one it
// looks every 5 s.
func idleEvery(idle time.Duration) time.Duration {
	if idle <= 0 {
		return 5 * time.Second
	}
	return min(max(idle/4, 100*time.Millisecond), 5*time.Second)
}

// watchIdle is the idle watch's timer callback: it ends the session once
// it has sent no IP packet that counts as activity (isActivity: multicast
// and broadcast do not, nor packets the firewall drops) for its idle
// timeout, and otherwise looks again later. A timer, not a goroutine,
// per session: an idle session costs no stack for it.
func (g *Gateway) watchIdle(c *call) {
	select {
	case <-c.s.Done():
		return
	default:
	}
	now, idle := time.Now(), g.idleOf(c)
	if n := c.active.Load(); n != c.idleLast {
		c.idleLast, c.idleSince = n, now
	} else if idle > 0 && now.Sub(c.idleSince) >= idle {
		c.s.Close(fmt.Sprintf("idle timeout: no packet from the client for %s", idle))
		return
	}
	c.idle.Reset(idleEvery(idle))
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// deliver writes an IP packet from a session to the TUN; call.deliver has
// checked it. It runs with the session's data mutex held, on
// RoutineReadGRE.
func (g *Gateway) deliver(ip []byte) {
	if _, err := g.cfg.TUN.Write(ip); err != nil {
		g.log.Debug("tun write", slog.Any("error", err))
	}
}

// lookupID returns the call with our Call ID id.
func (g *Gateway) lookupID(id uint16) *call {
	g.calls.RLock()
	c := g.calls.byID[id]
	g.calls.RUnlock()
	return c
}

// lookupSession returns the call whose session has id.
func (g *Gateway) lookupSession(id string) *call {
	g.calls.RLock()
	defer g.calls.RUnlock()
	for _, c := range g.calls.byID {
		if c.id == id {
			return c
		}
	}
	return nil
}

// lookupAddr returns the call holding PPP address a.
func (g *Gateway) lookupAddr(a netip.Addr) *call {
	g.calls.RLock()
	c := g.calls.byAddr[a]
	g.calls.RUnlock()
	return c
}
