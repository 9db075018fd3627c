package dae

// One request, as Server.Handle takes it, in order:
//
//  1. client      the source address must lie in a configured prefix
//                 (longest wins), else drop
//  2. frame       header and attribute walk, every length checked, else drop
//  3. code        Disconnect-Request or CoA-Request, else drop
//  4. verify      Request Authenticator, then Message-Authenticator
//                 (required unless AllowMissingMessageAuthenticator), else drop
//  5. replay      Event-Timestamp within ReplayWindow (required when
//                 RequireEventTimestamp), else drop
//  6. duplicate   same source, Identifier and Request Authenticator within
//                 ReplayWindow: the cached answer, the Handler is not called
//  7. decide      parse (401, 404, 405, 407), NAS identity (403), session
//                 identification (402), authorization change of a CoA (402),
//                 then the Handler
//  8. reply       ACK or NAK with Error-Cause, State and Proxy-State echoed,
//                 and a Message-Authenticator when the request had one
//
// Serve runs step 1 on the reading goroutine and the rest on one
// RoutineClient per configured client, so that a client's requests are
// handled in the order they came and a slow Handler holds up only its
// own client.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
)

// Handler acts on requests. It is called synchronously, one request at a
// time per client, with a context bounded by Config.Timeout, and only for
// requests that passed every check of the server: authentic, fresh, not a
// duplicate, every attribute understood, the NAS identity matching, at
// least one session identification attribute and, for a CoA, at least
// one change.
//
// The Handler decides which sessions match: all identification
// attributes that are set must match (RFC 5176 section 3), and they only
// identify (a User-Name in a CoA does not rename anyone, section 3.6).
// The request applies to every matching session, all or nothing (section
// 2.3): a CoA that cannot be applied to one of them must change none, and
// a Disconnect that cannot end one of them is refused.
//
// A nil error acknowledges the request. An *Error answers with its Cause:
// no session matches, 503 Session Context Not Found; several match and
// the Handler will not act on all, 508 Multiple Session Selection
// Unsupported; a Filter-Id that names no firewall policy, 407 Invalid
// Attribute Value; a change the session cannot take now, 506 Resources
// Unavailable; the operator forbids it, 501 Administratively Prohibited;
// a session that cannot be ended, 504 Session Context Not Removable
// (Disconnect only); a session already gone whose remains were cleaned
// up, 201 Residual Session Context Removed (Disconnect only, sent in an
// ACK). A Cause RFC 5176 section 3.5 does not allow a NAS to send in that
// answer (202, 502, 505, 507, reserved values) is logged as a bug and
// answered as below. Any other error means "could not decide" and is
// answered with a NAK carrying 506 Resources Unavailable: fail closed, so
// that the RADIUS server does not believe the session is gone or changed.
// So is a panic, which the server recovers.
type Handler interface {
	Disconnect(ctx context.Context, r *Request) error
	CoA(ctx context.Context, r *Request) error
}

// Secret is a RADIUS shared secret; like the client's, it never prints.
type Secret = radclient.Secret

// Client is a Dynamic Authorization Client allowed to send requests: the
// RADIUS servers whose addresses lie in Prefix, sharing Secret.
type Client struct {
	Prefix netip.Prefix
	Secret Secret
}

// Config configures a Server. Zero durations take the defaults in
// brackets.
type Config struct {
	Clients []Client
	Handler Handler
	// Logger receives the server's events; nil discards them.
	Logger *slog.Logger

	// AllowMissingMessageAuthenticator accepts requests without a
	// Message-Authenticator (one that is present must still be valid).
	// Off by default: without it a request is protected only by MD5
	// over the secret.
	AllowMissingMessageAuthenticator bool
	// RequireEventTimestamp drops requests without an Event-Timestamp
	// (RFC 5176 section 6.3 asks for the setting).
	RequireEventTimestamp bool
	// ReplayWindow is both how far an Event-Timestamp may be from the
	// server's clock and how long answers are kept for retransmissions:
	// RFC 5176 section 6.3 wants the two windows equal [300s].
	ReplayWindow time.Duration
	// Timeout bounds one Handler call [10s].
	Timeout time.Duration

	// NASIdentifier and NASAddresses are the gateway's identity as a NAS.
	// A request whose NAS-Identifier (or NAS-IP-Address, NAS-IPv6-Address)
	// differs is refused with 403 NAS Identification Mismatch. When the
	// identity of a kind is not configured, an attribute of that kind is
	// not checked, only handed to the Handler.
	NASIdentifier string
	NASAddresses  []netip.Addr
}

// Defaults of Config.
const (
	DefaultReplayWindow = 300 * time.Second
	DefaultTimeout      = 10 * time.Second
)

const (
	// queueLen is how many packets a client may have waiting; beyond it
	// packets are dropped (Stats.Overloaded) and the client retransmits.
	queueLen = 64
	// maxCache bounds the duplicate cache (256 Identifiers of 256 source
	// ports); beyond it new requests are dropped (Stats.Overloaded) until
	// old answers expire, because a request that could not be remembered
	// could be replayed.
	maxCache = 1 << 16
)

// Stats counts what the server did; read it with Server.Stats.
type Stats struct {
	// Requests counts every packet received.
	Requests uint64
	// Answers sent, by code (duplicates answered from the cache are not
	// counted again).
	DisconnectACKs, DisconnectNAKs, CoAACKs, CoANAKs uint64
	// Duplicates were answered from the cache (or dropped while the
	// first was being handled).
	Duplicates uint64
	// HandlerErrors are Handler calls that failed to decide (error not an
	// *Error, deadline, panic), answered with 506.
	HandlerErrors uint64

	// Drops, by reason: no answer was sent.
	UnknownClient               uint64 // source in no Client prefix
	Malformed                   uint64 // lengths, or a malformed Event-Timestamp
	UnsupportedCode             uint64 // not Disconnect- or CoA-Request
	BadAuthenticator            uint64 // wrong Request Authenticator: wrong secret
	MissingMessageAuthenticator uint64
	BadMessageAuthenticator     uint64 // wrong, or more than one, or wrong size
	MissingEventTimestamp       uint64 // with RequireEventTimestamp
	StaleEventTimestamp         uint64 // outside ReplayWindow
	Overloaded                  uint64 // client queue or duplicate cache full
}

// drop is a reason to drop a packet.
type drop int

const (
	dropUnknownClient drop = iota
	dropMalformed
	dropUnsupportedCode
	dropBadAuthenticator
	dropMissingMessageAuthenticator
	dropBadMessageAuthenticator
	dropMissingEventTimestamp
	dropStaleEventTimestamp
	dropOverloaded
	numDrops
)

// dropMessages are the (rate-limited) warnings, one per reason; each says
// what an operator can do.
var dropMessages = [numDrops]string{
	dropUnknownClient:               "dynamic authorization request from an unknown address dropped: add it to the DAE clients if it is your RADIUS server",
	dropMalformed:                   "malformed dynamic authorization request dropped",
	dropUnsupportedCode:             "RADIUS packet that is neither Disconnect-Request nor CoA-Request dropped",
	dropBadAuthenticator:            "dynamic authorization request dropped: Request Authenticator wrong (the shared secrets differ)",
	dropMissingMessageAuthenticator: "dynamic authorization request dropped: no Message-Authenticator (make the RADIUS server send one, e.g. Message-Authenticator = 0x00 for radclient)",
	dropBadMessageAuthenticator:     "dynamic authorization request dropped: Message-Authenticator wrong (it must be computed with a zero Request Authenticator, RFC 5176 section 3.4)",
	dropMissingEventTimestamp:       "dynamic authorization request dropped: no Event-Timestamp, and one is required",
	dropStaleEventTimestamp:         "dynamic authorization request dropped: Event-Timestamp outside the replay window (a replay, or the clocks differ)",
	dropOverloaded:                  "dynamic authorization request dropped: too many requests waiting",
}

// warnEvery is the least time between two warnings of the same reason;
// Stats counts every drop.
const warnEvery = 10 * time.Second

// Server is an RFC 5176 Dynamic Authorization Server.
type Server struct {
	cfg Config
	log *slog.Logger
	now func() time.Time // time.Now; tests set it

	requests, duplicates, handlerErrors atomic.Uint64
	discACK, discNAK, coaACK, coaNAK    atomic.Uint64
	drops                               [numDrops]atomic.Uint64
	lastWarn                            [numDrops]atomic.Int64 // UnixNano of the last warning, per reason

	// cache holds the answers of ReplayWindow, for retransmissions.
	cache struct {
		sync.Mutex
		m     map[cacheKey]*cacheEntry
		sweep time.Time // next sweep of expired answers
	}
}

type cacheKey struct {
	from netip.AddrPort
	id   byte
	auth [16]byte
}

type cacheEntry struct {
	reply   []byte // nil while the request is being handled
	expires time.Time
}

// NewServer checks cfg and returns a server.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Handler == nil {
		return nil, errors.New("dae: no Handler")
	}
	if cfg.ReplayWindow < 0 || cfg.Timeout < 0 {
		return nil, errors.New("dae: negative ReplayWindow or Timeout")
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Clients = slices.Clone(cfg.Clients)
	for i, c := range cfg.Clients {
		if !c.Prefix.IsValid() {
			return nil, fmt.Errorf("dae: client %d: no address prefix", i)
		}
		if len(c.Secret) == 0 {
			return nil, fmt.Errorf("dae: client %s: empty shared secret", c.Prefix)
		}
		cfg.Clients[i].Prefix = unmapPrefix(c.Prefix)
		for _, d := range cfg.Clients[:i] {
			if d.Prefix == cfg.Clients[i].Prefix {
				return nil, fmt.Errorf("dae: client %s configured twice", d.Prefix)
			}
		}
	}
	cfg.NASAddresses = slices.Clone(cfg.NASAddresses)
	for i, a := range cfg.NASAddresses {
		if !a.IsValid() {
			return nil, fmt.Errorf("dae: NAS address %d is not an address", i)
		}
		cfg.NASAddresses[i] = a.Unmap()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: time.Now}
	s.cache.m = map[cacheKey]*cacheEntry{}
	return s, nil
}

// unmapPrefix turns an IPv4-mapped prefix into an IPv4 one
// (::ffff:10.0.0.0/104 is 10.0.0.0/8), since source addresses are
// unmapped before they are matched.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	d := func(r drop) uint64 { return s.drops[r].Load() }
	return Stats{
		Requests:       s.requests.Load(),
		DisconnectACKs: s.discACK.Load(), DisconnectNAKs: s.discNAK.Load(),
		CoAACKs: s.coaACK.Load(), CoANAKs: s.coaNAK.Load(),
		Duplicates: s.duplicates.Load(), HandlerErrors: s.handlerErrors.Load(),
		UnknownClient: d(dropUnknownClient), Malformed: d(dropMalformed),
		UnsupportedCode: d(dropUnsupportedCode), BadAuthenticator: d(dropBadAuthenticator),
		MissingMessageAuthenticator: d(dropMissingMessageAuthenticator),
		BadMessageAuthenticator:     d(dropBadMessageAuthenticator),
		MissingEventTimestamp:       d(dropMissingEventTimestamp),
		StaleEventTimestamp:         d(dropStaleEventTimestamp),
		Overloaded:                  d(dropOverloaded),
	}
}

// ListenAndServe listens on the UDP address addr (RFC 5176 section 3.6
// registers port 3799) and serves until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, addr string) error {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("dae: %w", err)
	}
	defer pc.Close()
	return s.Serve(ctx, pc)
}

// packet is one datagram waiting for its client's routine.
type packet struct {
	b    []byte
	from netip.AddrPort
	to   net.Addr
}

// Serve answers requests on pc until ctx is done or pc is closed, then
// waits for the requests being handled and returns nil; any other read
// error is returned. To stop on ctx, it sets a read deadline on pc; it
// does not close pc. Packets still waiting when ctx is done are dropped.
func (s *Server) Serve(ctx context.Context, pc net.PacketConn) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr := pc.LocalAddr().String()
	s.log.Debug("dynamic authorization server started", "addr", addr)
	defer s.log.Debug("dynamic authorization server stopped", "addr", addr)
	stop := context.AfterFunc(ctx, func() { _ = pc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()

	var wg sync.WaitGroup
	queues := make([]chan packet, len(s.cfg.Clients))
	defer func() {
		cancel()
		for _, q := range queues {
			if q != nil {
				close(q)
			}
		}
		wg.Wait()
	}()
	buf := make([]byte, lr.MaxPacketLength)
	for {
		n, raddr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("dae: read: %w", err)
		}
		ua, ok := raddr.(*net.UDPAddr)
		if !ok {
			continue
		}
		from := ua.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		i := s.client(from.Addr())
		if i < 0 {
			s.requests.Add(1)
			s.dropped(dropUnknownClient, from)
			continue
		}
		if queues[i] == nil {
			queues[i] = make(chan packet, queueLen)
			wg.Add(1)
			go s.RoutineClient(ctx, pc, s.cfg.Clients[i].Prefix, queues[i], &wg)
		}
		select {
		case queues[i] <- packet{b: append([]byte(nil), buf[:n]...), from: from, to: raddr}:
		default:
			s.requests.Add(1)
			s.dropped(dropOverloaded, from)
		}
	}
}

// RoutineClient handles one client's packets in order until q is closed;
// Serve starts it on the client's first packet.
func (s *Server) RoutineClient(ctx context.Context, pc net.PacketConn, client netip.Prefix, q <-chan packet, wg *sync.WaitGroup) {
	defer wg.Done()
	s.log.Debug("dynamic authorization client routine started", "client", client.String())
	defer s.log.Debug("dynamic authorization client routine stopped", "client", client.String())
	for p := range q {
		if ctx.Err() != nil {
			continue // shutting down: drain
		}
		if r := s.Handle(ctx, p.b, p.from); r != nil {
			if _, err := pc.WriteTo(r, p.to); err != nil && ctx.Err() == nil {
				s.log.Warn("dynamic authorization answer not sent", "to", p.from.String(), "err", err.Error())
			}
		}
	}
}

// client returns the index of the client of a source address, the longest
// prefix winning, or -1.
func (s *Server) client(a netip.Addr) int {
	best := -1
	for i, c := range s.cfg.Clients {
		if c.Prefix.Contains(a) && (best < 0 || c.Prefix.Bits() > s.cfg.Clients[best].Prefix.Bits()) {
			best = i
		}
	}
	return best
}

// dropped counts a drop and warns about it, at most once per warnEvery
// and reason.
func (s *Server) dropped(r drop, from netip.AddrPort, args ...any) {
	n := s.drops[r].Add(1)
	now := s.now().UnixNano()
	last := s.lastWarn[r].Load()
	if now-last < int64(warnEvery) || !s.lastWarn[r].CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(dropMessages[r], append([]any{"from", from.String(), "dropped_total", n}, args...)...)
}

// Handle decides one packet from a source address and returns the answer,
// or nil to drop it (see the steps at the top of this file). It is safe
// for concurrent use; Serve calls it for each packet.
func (s *Server) Handle(ctx context.Context, pkt []byte, from netip.AddrPort) []byte {
	s.requests.Add(1)
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	ci := s.client(from.Addr())
	if ci < 0 {
		s.dropped(dropUnknownClient, from)
		return nil
	}
	cl := &s.cfg.Clients[ci]
	b, attrs, err := frame(pkt)
	if err != nil {
		s.dropped(dropMalformed, from)
		return nil
	}
	code := lr.Code(b[0])
	if code != lr.CodeDisconnectRequest && code != lr.CodeCoARequest {
		s.dropped(dropUnsupportedCode, from, "code", code.String())
		return nil
	}
	hasMA, err := verify(b, cl.Secret)
	switch {
	case err == nil:
	case errors.Is(err, errBadAuthenticator):
		s.dropped(dropBadAuthenticator, from)
		return nil
	case errors.Is(err, rfc3579.ErrMissing):
		if !s.cfg.AllowMissingMessageAuthenticator {
			s.dropped(dropMissingMessageAuthenticator, from)
			return nil
		}
	default:
		s.dropped(dropBadMessageAuthenticator, from, "err", err.Error())
		return nil
	}
	now := s.now()
	ts, hasTS, err := eventTimestamp(attrs)
	switch {
	case err != nil:
		s.dropped(dropMalformed, from)
		return nil
	case !hasTS && s.cfg.RequireEventTimestamp:
		s.dropped(dropMissingEventTimestamp, from)
		return nil
	case hasTS && (ts.Before(now.Add(-s.cfg.ReplayWindow)) || ts.After(now.Add(s.cfg.ReplayWindow))):
		s.dropped(dropStaleEventTimestamp, from, "event_timestamp", ts.UTC().Format(time.RFC3339))
		return nil
	}

	key := cacheKey{from: from, id: b[1]}
	copy(key.auth[:], b[4:headerLen])
	cached, dup, full := s.lookup(key, now)
	if full {
		s.dropped(dropOverloaded, from)
		return nil
	}
	if dup {
		s.duplicates.Add(1)
		return cached
	}
	r := &Request{Code: code, Source: from, Client: cl.Prefix, Identifier: b[1]}
	if hasTS {
		r.EventTime = ts
	}
	cause := s.decide(ctx, r, attrs)
	out := reply(b, attrs, cl.Secret, answerCode(code, cause), cause, hasMA)
	s.store(key, out)
	if out != nil {
		s.count(code, cause)
	}
	return out
}

// answerCode is the ACK or NAK code for a request code and Error-Cause.
func answerCode(code lr.Code, cause ErrorCause) lr.Code {
	ack := cause == 0 || cause.success()
	switch {
	case code == lr.CodeDisconnectRequest && ack:
		return lr.CodeDisconnectACK
	case code == lr.CodeDisconnectRequest:
		return lr.CodeDisconnectNAK
	case ack:
		return lr.CodeCoAACK
	default:
		return lr.CodeCoANAK
	}
}

func (s *Server) count(code lr.Code, cause ErrorCause) {
	switch answerCode(code, cause) {
	case lr.CodeDisconnectACK:
		s.discACK.Add(1)
	case lr.CodeDisconnectNAK:
		s.discNAK.Add(1)
	case lr.CodeCoAACK:
		s.coaACK.Add(1)
	default:
		s.coaNAK.Add(1)
	}
}

// decide parses r's attributes, makes the server's own checks and calls
// the Handler. It returns the Error-Cause of the answer, 0 for a plain
// ACK, and logs the outcome.
func (s *Server) decide(ctx context.Context, r *Request, attrs []attr) ErrorCause {
	err := s.check(r, attrs)
	if err == nil {
		err = s.call(ctx, r)
	}
	var e *Error
	switch {
	case err == nil:
		s.log.Info("dynamic authorization request acknowledged", "request", r)
		return 0
	case errors.As(err, &e) && e.Cause.allowed(r.Code):
		msg := "dynamic authorization request refused"
		if e.Cause.success() {
			msg = "dynamic authorization request acknowledged"
		}
		s.log.Info(msg, "request", r, "error_cause", e.Cause.String(), "reason", e.Msg)
		return e.Cause
	case e != nil:
		s.handlerErrors.Add(1)
		s.log.Error("dynamic authorization handler answered with an Error-Cause RFC 5176 does not allow here: refused", "request", r, "error_cause", e.Cause.String(), "sent_error_cause", ResourcesUnavailable.String(), "reason", e.Msg)
		return ResourcesUnavailable
	default:
		s.handlerErrors.Add(1)
		s.log.Warn("dynamic authorization request could not be decided: refused", "request", r, "error_cause", ResourcesUnavailable.String(), "err", err.Error())
		return ResourcesUnavailable
	}
}

// check makes the server's own decisions, before the Handler's.
func (s *Server) check(r *Request, attrs []attr) error {
	if err := parse(r, r.Code, attrs); err != nil {
		return err
	}
	if s.cfg.NASIdentifier != "" && r.NASIdentifier != "" && r.NASIdentifier != s.cfg.NASIdentifier {
		return errorf(NASIdentificationMismatch, "NAS-Identifier %q is not this gateway's %q", r.NASIdentifier, s.cfg.NASIdentifier)
	}
	for _, a := range []netip.Addr{r.NASIP, r.NASIPv6} {
		if len(s.cfg.NASAddresses) > 0 && a.IsValid() && !slices.Contains(s.cfg.NASAddresses, a.Unmap()) {
			return errorf(NASIdentificationMismatch, "NAS address %s is not one of this gateway's %v", a, s.cfg.NASAddresses)
		}
	}
	if !r.identified() {
		return errorf(MissingAttribute, "no session identification: send User-Name, Acct-Session-Id, Calling-Station-Id or Framed-IP-Address")
	}
	if r.Code == lr.CodeCoARequest && !r.changes() {
		return errorf(MissingAttribute, "the CoA-Request changes nothing: send Filter-Id, Session-Timeout or Idle-Timeout")
	}
	return nil
}

// call runs the Handler with the timeout; a panic is an error.
func (s *Server) call(ctx context.Context, r *Request) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("dynamic authorization handler panicked", "request", r, "panic", fmt.Sprint(p))
			err = fmt.Errorf("handler panicked: %v", p)
		}
	}()
	if r.Code == lr.CodeDisconnectRequest {
		return s.cfg.Handler.Disconnect(ctx, r)
	}
	return s.cfg.Handler.CoA(ctx, r)
}

// lookup returns the cached answer of key (nil while it is being handled)
// and true, or marks key as being handled and returns false. full means
// the cache has no room for key.
func (s *Server) lookup(key cacheKey, now time.Time) (reply []byte, dup, full bool) {
	s.cache.Lock()
	defer s.cache.Unlock()
	if e, ok := s.cache.m[key]; ok && (e.reply == nil || now.Before(e.expires)) {
		return e.reply, true, false
	}
	if now.After(s.cache.sweep) || len(s.cache.m) >= maxCache {
		for k, e := range s.cache.m {
			if e.reply != nil && !now.Before(e.expires) {
				delete(s.cache.m, k)
			}
		}
		s.cache.sweep = now.Add(s.cfg.ReplayWindow / 8)
	}
	if len(s.cache.m) >= maxCache {
		return nil, false, true
	}
	s.cache.m[key] = &cacheEntry{}
	return nil, false, false
}

// store keeps the answer of key for ReplayWindow; a nil answer forgets
// key.
func (s *Server) store(key cacheKey, reply []byte) {
	s.cache.Lock()
	defer s.cache.Unlock()
	if reply == nil {
		delete(s.cache.m, key)
		return
	}
	s.cache.m[key] = &cacheEntry{reply: reply, expires: s.now().Add(s.cfg.ReplayWindow)}
}
