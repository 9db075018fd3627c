package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/firewall"
	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/session"
)

// ackDelay is how long an owed acknowledgment waits for a data packet to
// ride on before it goes alone.
const ackDelay = 100 * time.Millisecond

// call is one PPTP call: its control.Call, its session and its GRE state.
type call struct {
	g       *Gateway
	ctl     *control.Call
	s       *session.Session
	log     *slog.Logger
	started time.Time
	id      string // SessionInfo.ID

	ctrlCause atomic.Pointer[string] // set by CallEnded
	killed    atomic.Bool            // set by Kill and Reauthorize

	// login is the accepted login, without its keys, for Reauthorize.
	login atomic.Pointer[authpolicy.Result]
	// active counts the packets that keep the session from idling:
	// unicast ones deliver passed on (see isActivity).
	active atomic.Uint64
	// greSeen is set once a GRE packet of the call arrived; greHint
	// logs when it was not in time.
	greSeen atomic.Bool
	greHint *time.Timer

	// Set on the session goroutine by established, read by ended (which
	// runs after it, on a goroutine started after the session's end).
	ended func(cause string, final session.Info)
	// idle is the idle watch's timer (see watchIdle); idleLast and
	// idleSince are touched only by its callback, one at a time.
	idle      *time.Timer
	idleLast  uint64
	idleSince time.Time

	// addr is the session's PPP address (invalid before IPCP), filter
	// its user's firewall policy (nil: everything allowed); both are read
	// per packet by deliver.
	addr   atomic.Pointer[netip.Addr]
	filter atomic.Pointer[firewall.Policy]

	// Set by Authenticate for an accepted login, before IPCP runs.
	auth struct {
		sync.Mutex
		attrs        map[string][]string
		filterSource string        // Authorization.FilterSource
		framed       netip.Addr    // Framed-IP-Address, when a back-end gave one
		timer        *time.Timer   // Session-Timeout
		idle         time.Duration // Idle-Timeout
	}

	// rx is owned by RoutineReadGRE.
	rx struct {
		window gre.Window
	}

	// tx guards the send side and the acknowledgments owed, which the
	// receive side records.
	tx struct {
		sync.Mutex
		seq      uint32
		sender   greSender
		acks     gre.AckTracker
		ackTimer *time.Timer
		ackArmed bool
		stopped  bool
		peerAck  uint32 // the last acknowledgment the peer sent
	}
}

func newCall(g *Gateway, cc *control.Call) *call {
	c := &call{g: g, ctl: cc, started: time.Now()}
	c.tx.sender.init(g.gre, cc.Peer)
	return c
}

// snapshot is the call's SessionInfo now.
func (c *call) snapshot() SessionInfo {
	c.auth.Lock()
	attrs := c.auth.attrs
	c.auth.Unlock()
	return SessionInfo{ID: c.id, CallID: c.ctl.ID, PeerCallID: c.ctl.PeerID, Client: c.ctl.Peer, Started: c.started, Attributes: attrs, Info: c.s.Info()}
}

// SendPPP implements session.Link: one GRE data packet to the peer, with the
// next sequence number and any acknowledgment owed.
func (c *call) SendPPP(frame []byte) error {
	c.tx.Lock()
	defer c.tx.Unlock()
	h := gre.Header{CallID: c.ctl.PeerID, SequencePresent: true, SequenceNumber: c.tx.seq}
	c.tx.seq++
	c.tx.acks.Piggyback(&h)
	return c.sendLocked(h, frame)
}

// greBuf is the buffer one GRE packet is built in, from greBufPool for
// the send and given back after it: a call keeps no buffer of its own
// while it idles, and a busy one allocates nothing.
type greBuf [16 + session.MaxFrame + 8]byte

var greBufPool = sync.Pool{New: func() any { return new(greBuf) }}

// sendLocked writes the GRE packet of h and payload to the peer.
func (c *call) sendLocked(h gre.Header, payload []byte) error {
	b := greBufPool.Get().(*greBuf)
	defer greBufPool.Put(b)
	if err := c.tx.sender.send(gre.AppendPacket(b[:0], h, payload)); err != nil {
		c.g.stats.greSendErrors.Add(1)
		return err
	}
	return nil
}

// delivered records a data packet passed up to PPP and makes sure its
// acknowledgment goes out within ackDelay.
func (c *call) delivered(seq uint32) {
	c.tx.Lock()
	defer c.tx.Unlock()
	c.tx.acks.Delivered(seq)
	if c.tx.ackArmed || c.tx.stopped {
		return
	}
	c.tx.ackArmed = true
	if c.tx.ackTimer == nil {
		c.tx.ackTimer = time.AfterFunc(ackDelay, c.sendAck)
	} else {
		c.tx.ackTimer.Reset(ackDelay)
	}
}

// sendAck sends an acknowledgment-only packet if one is still owed.
func (c *call) sendAck() {
	c.tx.Lock()
	defer c.tx.Unlock()
	c.tx.ackArmed = false
	if c.tx.stopped {
		return
	}
	ack, ok := c.tx.acks.Take()
	if !ok {
		return
	}
	h := gre.Header{CallID: c.ctl.PeerID, AcknowledgmentPresent: true, AcknowledgmentNumber: ack}
	_ = c.sendLocked(h, nil)
}

// acked records an acknowledgment from the peer. The gateway does not hold
// packets back for the peer's receive window: PPP over GRE has no
// retransmission, and the Linux and Windows clients do not enforce it.
func (c *call) acked(n uint32) {
	c.tx.Lock()
	if gre.SeqLess(c.tx.peerAck, n) {
		c.tx.peerAck = n
	}
	c.tx.Unlock()
}

func (c *call) stopAckTimer() {
	c.tx.Lock()
	c.tx.stopped = true
	if c.tx.ackTimer != nil {
		c.tx.ackTimer.Stop()
	}
	c.tx.Unlock()
}

// allocate is the session's IPCP Allocate: the Framed-IP-Address a
// back-end gave when it is in the pool and free, else an address from the
// pool; registered for RoutineReadTUN.
func (c *call) allocate() (netip.Addr, bool) {
	c.auth.Lock()
	framed := c.auth.framed
	c.auth.Unlock()
	if framed.IsValid() {
		if c.g.cfg.Pool.Request(framed) {
			c.register(framed)
			return framed, true
		}
		c.log.Warn("Framed-IP-Address is outside the pool or in use; taking an address from the pool",
			slog.String("framed_ip_address", framed.String()))
	}
	a, ok := c.g.cfg.Pool.Allocate()
	if ok {
		c.register(a)
	}
	return a, ok
}

// acceptPeer is the session's IPCP AcceptPeerAddress.
func (c *call) acceptPeer(a netip.Addr) bool {
	if !c.g.cfg.Pool.Request(a) {
		return false
	}
	c.register(a)
	return true
}

// release is the session's IPCP Release.
func (c *call) release(a netip.Addr) {
	g := c.g
	g.calls.Lock()
	if g.calls.byAddr[a] == c {
		delete(g.calls.byAddr, a)
	}
	g.calls.Unlock()
	c.addr.Store(nil)
	if err := g.cfg.Pool.Release(a); err != nil {
		c.log.Debug("release address", slog.String("address", a.String()), slog.Any("error", err))
	}
}

func (c *call) register(a netip.Addr) {
	c.g.calls.Lock()
	c.g.calls.byAddr[a] = c
	c.g.calls.Unlock()
	c.addr.Store(&a)
	c.log.Info("ipcp address", slog.String("address", a.String()))
}

// Authenticate implements session.Authenticator: the gateway's Auth, with
// its Authorize as the engine's Approval (authpolicy.WithApproval), so that
// a user without VPN access is refused before the policy engine commits
// anything: no one-time code is spent on a login that is turned away, and
// a later branch may still grant access. The refusal reaches the client as
// E=649 (no dial-in permission).
func (c *call) Authenticate(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error) {
	cred.CallingStation = c.ctl.Peer.String()
	ctx = context.WithValue(ctx, sessionIDKey{}, c.id)
	var granted atomic.Pointer[Authorization]
	if c.g.cfg.Authorize != nil {
		ctx = authpolicy.WithApproval(ctx, func(_ context.Context, res *authpolicy.Result) error {
			a := c.g.cfg.Authorize(res)
			if !a.Allowed {
				return errors.New(a.Reason)
			}
			granted.Store(&a)
			return nil
		})
	}
	res, err := c.g.cfg.Auth.Authenticate(ctx, cred)
	if err != nil || res == nil || !res.Accepted {
		return res, err
	}
	if c.g.cfg.Authorize != nil {
		a := granted.Load()
		if a == nil {
			// An Authenticator that ignored the Approval: judge now.
			b := c.g.cfg.Authorize(res)
			if !b.Allowed {
				return nil, &session.Denied{Code: chap.NoDialinPermission, Reason: b.Reason}
			}
			a = &b
		}
		c.filter.Store(a.Filter)
		c.auth.Lock()
		c.auth.filterSource = a.FilterSource
		c.auth.Unlock()
		c.log.Info("vpn access granted", slog.String("user", res.User),
			slog.String("reason", a.Reason), slog.String("firewall", a.FilterSource))
	}
	c.applyAttributes(res.Identity.Attributes)
	kept := *res
	kept.Keys, kept.AuthenticatorResponse = nil, ""
	c.login.Store(&kept)
	return res, nil
}

type sessionIDKey struct{}

// SessionID returns the id of the session whose login ctx carries (the
// context Config.Auth's Authenticate gets), or "".
func SessionID(ctx context.Context) string {
	id, _ := ctx.Value(sessionIDKey{}).(string)
	return id
}

// applyAttributes keeps what the back-ends said of the user for the
// session: Framed-IP-Address (IPCP offers it), Session-Timeout (the session
// ends after it), Idle-Timeout (replaces Config.IdleTimeout), and every
// attribute for SessionUp (accounting echoes Class).
func (c *call) applyAttributes(attrs map[string][]string) {
	c.auth.Lock()
	defer c.auth.Unlock()
	c.auth.attrs = attrs
	if v := attrs["Framed-IP-Address"]; len(v) > 0 {
		if a, err := netip.ParseAddr(v[0]); err == nil && a.Is4() {
			c.auth.framed = a
		}
	}
	if v := attrs["Idle-Timeout"]; len(v) > 0 {
		if secs, err := strconv.ParseUint(v[0], 10, 32); err == nil && secs > 0 {
			c.auth.idle = time.Duration(secs) * time.Second
		}
	}
	if v := attrs["Session-Timeout"]; len(v) > 0 {
		if secs, err := strconv.ParseUint(v[0], 10, 32); err == nil && secs > 0 {
			d := time.Duration(secs) * time.Second
			c.setSessionTimeoutLocked(d)
			c.log.Info("session timeout", slog.Duration("after", d))
		}
	}
}

// setSessionTimeout ends the session d from now, replacing any timer.
func (c *call) setSessionTimeout(d time.Duration) {
	c.auth.Lock()
	defer c.auth.Unlock()
	c.setSessionTimeoutLocked(d)
}

func (c *call) setSessionTimeoutLocked(d time.Duration) {
	if c.auth.timer != nil {
		c.auth.timer.Stop()
	}
	c.auth.timer = time.AfterFunc(d, func() { c.s.Close("session timeout: " + d.String() + " (Session-Timeout)") })
}

func (c *call) stopSessionTimer() {
	c.auth.Lock()
	if c.auth.timer != nil {
		c.auth.timer.Stop()
	}
	c.auth.Unlock()
}

// deliver is the session's deliver: an IP packet the client sent, passed
// to the TUN when its source is the session's address and the user's
// firewall policy allows it. It runs on RoutineReadGRE and does not
// allocate.
func (c *call) deliver(ip []byte) {
	g := c.g
	a := c.addr.Load()
	if a == nil || len(ip) < 20 || netip.AddrFrom4([4]byte(ip[12:16])) != *a {
		g.stats.spoofed.Add(1)
		return
	}
	if f := c.filter.Load(); f != nil {
		if act, _ := f.Decide(ip); act != firewall.Allow {
			g.stats.firewallDenied.Add(1)
			return
		}
	}
	if isActivity(netip.AddrFrom4([4]byte(ip[16:20])), *a) {
		c.active.Add(1)
	}
	g.deliver(ip)
}

// isActivity reports whether a packet from a client at src to dst keeps
// its session from idling: not multicast (224.0.0.0/4: mDNS, SSDP, IGMP
// reports), not the limited broadcast 255.255.255.255, and not a directed
// broadcast a client guesses for itself: the last address of the /24 or
// of the classful network of src (what Windows sends NetBIOS
// announcements to over a point-to-point link). Packets the firewall or
// the source check dropped never get here.
func isActivity(dst, src netip.Addr) bool {
	if dst.IsMulticast() || dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	d, s := dst.As4(), src.As4()
	if d[3] == 255 && d[0] == s[0] && d[1] == s[1] && d[2] == s[2] {
		return false // the /24's broadcast
	}
	switch {
	case s[0] < 128: // class A
		return !(d[0] == s[0] && d[1] == 255 && d[2] == 255 && d[3] == 255)
	case s[0] < 192: // class B
		return !(d[0] == s[0] && d[1] == s[1] && d[2] == 255 && d[3] == 255)
	}
	return true // class C: the /24 above
}
