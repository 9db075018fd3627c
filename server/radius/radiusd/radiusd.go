package radiusd

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
	"github.com/gatehouse-vpn/gatehouse/server/ratelimit"
)

// Client is a NAS allowed to send requests.
type Client struct {
	Prefix netip.Prefix
	Secret []byte
}

// AuthFunc decides one login.
type AuthFunc func(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error)

// Config configures a Server.
type Config struct {
	Clients []Client
	// RequireMessageAuthenticator drops Access-Requests without one.
	RequireMessageAuthenticator bool
	// DuplicateWindow is how long an answer is kept for retransmissions
	// [5s].
	DuplicateWindow time.Duration
	// Timeout bounds one decision [10s].
	Timeout time.Duration
	// MaxInFlight bounds concurrent decisions [1024].
	MaxInFlight int
	// Reply attributes added to every Access-Accept, by name (see
	// [ReplyAttributeNames]).
	Reply map[string]string
	// CHAP accepts CHAP-Password (CHAP-MD5, RFC 2865 section 5.3) as a
	// login: off by default, like CHAP-MD5 for PPTP; requests carrying it
	// are otherwise rejected with a Reply-Message naming the setting.
	CHAP bool
	// ClientRate, when above 0, is how many requests a second each source
	// address may send, in bursts of up to ClientBurst (package
	// ratelimit): a NAS that floods the server loses its own excess
	// requests, not the other NASes' logins. Requests over the rate are
	// dropped before any work (Stats.RateLimited); the NAS retransmits.
	ClientRate  float64
	ClientBurst int
	// Challenge is the second prompt: a PAP login that lacks only its
	// one-time code is answered with an Access-Challenge (see the package
	// documentation).
	Challenge ChallengeConfig
}

// ReplyAttributeNames are the attributes Config.Reply may set.
var ReplyAttributeNames = []string{"Filter-Id", "Class", "Reply-Message", "Session-Timeout", "Idle-Timeout", "Framed-MTU", "Acct-Interim-Interval"}

// Stats counts what the server did; read it with Server.Stats.
type Stats struct {
	Requests, Accepts, Rejects, StatusServer   uint64
	UnknownClient, BadMessageAuthenticator     uint64
	Malformed, Duplicates, Overloaded, Ignored uint64
	// RateLimited: dropped because the source was over ClientRate.
	RateLimited uint64

	// Challenges: Access-Challenges sent. ChallengeAnswers: answers whose
	// State matched a pending challenge (then decided by AuthFunc and
	// counted as an accept or a reject). ChallengesFull: challenges
	// refused, the login rejected, because MaxPending were pending.
	// ChallengesExpired: challenges that expired unanswered;
	// ChallengesReplaced: dropped for a newer one of the same user.
	// ChallengesPending: waiting for their answer now.
	Challenges, ChallengeAnswers, ChallengesFull uint64
	ChallengesExpired, ChallengesReplaced        uint64
	ChallengesPending                            int
	// Answers rejected for their State (each also counted in Rejects):
	// unknown, used before (a replay), expired, replaced by a newer
	// challenge, issued to another user, issued to another NAS.
	StateUnknown, StateReplayed, StateExpired    uint64
	StateReplaced, StateOtherUser, StateOtherNAS uint64
}

type stats struct {
	requests, accepts, rejects, statusServer     atomic.Uint64
	unknownClient, badMessageAuthenticator       atomic.Uint64
	malformed, duplicates, overloaded, ignored   atomic.Uint64
	rateLimited                                  atomic.Uint64
	challenges, challengeAnswers, challengesFull atomic.Uint64
	state                                        [stateOtherNAS + 1]atomic.Uint64
}

// Server is the RADIUS front door.
type Server struct {
	cfg   Config
	auth  AuthFunc
	log   *slog.Logger
	reply lr.Attributes
	sem   chan struct{}
	st    stats
	limit *ratelimit.Limiter // nil: no ClientRate
	ch    *challenges

	// lastWarn rate-limits the warnings a stranger can trigger (unknown
	// client, bad Message-Authenticator): UnixNano of the last one.
	lastWarn atomic.Int64

	cache struct {
		sync.Mutex
		m     map[cacheKey]*cacheEntry
		sweep time.Time
	}
	wg sync.WaitGroup
}

type cacheKey struct {
	from netip.AddrPort
	id   byte
	auth [16]byte
}

type cacheEntry struct {
	reply   []byte // nil while the request is being decided
	expires time.Time
}

// New returns a server; log may be nil. It checks the reply attributes.
func New(cfg Config, auth AuthFunc, log *slog.Logger) (*Server, error) {
	if cfg.DuplicateWindow <= 0 {
		cfg.DuplicateWindow = 5 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 1024
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &cfg.Challenge
	if c.Message == "" {
		c.Message = DefaultChallengeMessage
	}
	if len(c.Message) > 253 {
		return nil, fmt.Errorf("challenge message: %d bytes, more than a Reply-Message holds (253)", len(c.Message))
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultChallengeTimeout
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxChallenges
	}
	if c.MaxPendingPerUser <= 0 {
		c.MaxPendingPerUser = DefaultMaxUserChallenges
	}
	reply, err := ReplyAttributes(cfg.Reply)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, auth: auth, log: log, reply: reply, sem: make(chan struct{}, cfg.MaxInFlight),
		limit: ratelimit.New(cfg.ClientRate, cfg.ClientBurst), ch: newChallenges(cfg.Challenge)}
	s.cache.m = map[cacheKey]*cacheEntry{}
	return s, nil
}

// identityAttributes passes on what the deciding branch's back-ends said
// about the session (a RADIUS server behind the gateway: Filter-Id, Class,
// Framed-IP-Address, Session-Timeout, Idle-Timeout), unless the
// configuration sets the attribute itself. Values that do not encode are
// left out.
func (s *Server) identityAttributes(id map[string][]string) lr.Attributes {
	var out lr.Attributes
	for _, name := range []string{"Filter-Id", "Class", "Session-Timeout", "Idle-Timeout", "Framed-IP-Address"} {
		if _, set := s.cfg.Reply[name]; set {
			continue
		}
		for _, v := range id[name] {
			if name == "Framed-IP-Address" {
				a, err := netip.ParseAddr(v)
				if err != nil || !a.Is4() {
					continue
				}
				b := a.As4()
				out = append(out, &lr.AVP{Type: rfc2865.FramedIPAddress_Type, Attribute: b[:]})
				continue
			}
			if enc, err := ReplyAttributes(map[string]string{name: v}); err == nil {
				out = append(out, enc...)
			}
		}
	}
	return out
}

// ReplyAttributes encodes configured reply attributes.
func ReplyAttributes(m map[string]string) (lr.Attributes, error) {
	p := &lr.Packet{}
	var errs []error
	for name, v := range m {
		var err error
		num := func(set func(*lr.Packet, uint32) error) {
			n, e := strconv.ParseUint(v, 10, 32)
			if e != nil {
				err = fmt.Errorf("want a whole number, got %q", v)
				return
			}
			err = set(p, uint32(n))
		}
		switch name {
		case "Filter-Id":
			err = rfc2865.FilterID_AddString(p, v)
		case "Class":
			err = rfc2865.Class_AddString(p, v)
		case "Reply-Message":
			err = rfc2865.ReplyMessage_AddString(p, v)
		case "Session-Timeout":
			num(func(p *lr.Packet, n uint32) error { return rfc2865.SessionTimeout_Add(p, rfc2865.SessionTimeout(n)) })
		case "Idle-Timeout":
			num(func(p *lr.Packet, n uint32) error { return rfc2865.IdleTimeout_Add(p, rfc2865.IdleTimeout(n)) })
		case "Framed-MTU":
			num(func(p *lr.Packet, n uint32) error { return rfc2865.FramedMTU_Add(p, rfc2865.FramedMTU(n)) })
		case "Acct-Interim-Interval":
			num(func(p *lr.Packet, n uint32) error {
				p.Add(85, lr.NewInteger(n))
				return nil
			})
		default:
			err = fmt.Errorf("unknown attribute (known: %v)", ReplyAttributeNames)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reply attribute %s: %w", name, err))
		}
	}
	return p.Attributes, errors.Join(errs...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	pending, expired, replaced := s.ch.counts()
	return Stats{
		Challenges: s.st.challenges.Load(), ChallengeAnswers: s.st.challengeAnswers.Load(), ChallengesFull: s.st.challengesFull.Load(),
		ChallengesExpired: expired, ChallengesReplaced: replaced, ChallengesPending: pending,
		StateUnknown: s.st.state[stateUnknown].Load(), StateReplayed: s.st.state[stateUsed].Load(),
		StateExpired: s.st.state[stateExpired].Load(), StateReplaced: s.st.state[stateReplaced].Load(),
		StateOtherUser: s.st.state[stateOtherUser].Load(), StateOtherNAS: s.st.state[stateOtherNAS].Load(),

		Requests: s.st.requests.Load(), Accepts: s.st.accepts.Load(), Rejects: s.st.rejects.Load(),
		StatusServer: s.st.statusServer.Load(), UnknownClient: s.st.unknownClient.Load(),
		BadMessageAuthenticator: s.st.badMessageAuthenticator.Load(), Malformed: s.st.malformed.Load(),
		Duplicates: s.st.duplicates.Load(), Overloaded: s.st.overloaded.Load(), Ignored: s.st.ignored.Load(),
		RateLimited: s.st.rateLimited.Load(),
	}
}

// Serve answers requests on conn until it is closed; it then waits for
// decisions in flight and returns nil.
func (s *Server) Serve(conn net.PacketConn) error {
	s.log.Debug("RADIUS front door started", "addr", conn.LocalAddr().String())
	defer s.log.Debug("RADIUS front door stopped", "addr", conn.LocalAddr().String())
	jobs := make(chan job)
	defer s.ch.close() // last: no decision is running
	defer s.wg.Wait()
	defer close(jobs)
	buf := make([]byte, lr.MaxPacketLength)
	udp, _ := conn.(*net.UDPConn)
	for {
		// A *net.UDPConn is read without allocating an address per
		// packet: under a flood this loop is what keeps up, or not.
		var n int
		var from netip.AddrPort
		var to net.Addr
		var err error
		if udp != nil {
			n, from, err = udp.ReadFromUDPAddrPort(buf)
		} else {
			var addr net.Addr
			n, addr, err = conn.ReadFrom(buf)
			if ua, ok := addr.(*net.UDPAddr); ok {
				from, to = ua.AddrPort(), ua
			} else if err == nil {
				continue
			}
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		// Known sources only: a stranger's packets are dropped (and
		// counted) by handle, and get no bucket.
		cl := s.client(from.Addr())
		if s.limit != nil && cl != nil && !s.limit.Allow(from.Addr(), time.Now()) {
			s.st.rateLimited.Add(1)
			continue
		}
		pkt := make([]byte, n)
		copy(pkt, buf[:n])
		if to == nil {
			to = net.UDPAddrFromAddrPort(from)
		}
		j := job{pkt: pkt, from: from, to: to, client: cl}
		select {
		case jobs <- j: // an idle worker takes it
			continue
		default:
		}
		select {
		case s.sem <- struct{}{}:
		default:
			s.st.overloaded.Add(1)
			continue
		}
		s.wg.Add(1)
		go s.RoutineWorker(conn, j, jobs)
	}
}

type job struct {
	pkt    []byte
	from   netip.AddrPort
	to     net.Addr
	client *Client // nil: an unknown source
}

// RoutineWorker decides j, then waits for more jobs: workers live as long
// as Serve, so their stacks, grown by the policy engine and plugin calls,
// are kept. There are at most MaxInFlight of them.
func (s *Server) RoutineWorker(conn net.PacketConn, j job, jobs <-chan job) {
	defer s.wg.Done()
	defer func() { <-s.sem }()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		if reply := s.handle(ctx, j.pkt, j.from, j.client); reply != nil {
			_, _ = conn.WriteTo(reply, j.to)
		}
		cancel()
		var ok bool
		if j, ok = <-jobs; !ok {
			return
		}
	}
}

// client finds the client of a source address: the longest prefix wins.
func (s *Server) client(a netip.Addr) *Client {
	var best *Client
	for i := range s.cfg.Clients {
		c := &s.cfg.Clients[i]
		if c.Prefix.Contains(a) && (best == nil || c.Prefix.Bits() > best.Prefix.Bits()) {
			best = c
		}
	}
	return best
}

// Handle decides one packet from a source address and returns the reply,
// or nil to drop it.
func (s *Server) Handle(ctx context.Context, pkt []byte, from netip.AddrPort) []byte {
	return s.handle(ctx, pkt, from, s.client(from.Addr()))
}

// handle is Handle with the source's client already found (Serve looks
// it up once, for the rate limit too).
func (s *Server) handle(ctx context.Context, pkt []byte, from netip.AddrPort, cl *Client) []byte {
	s.st.requests.Add(1)
	if cl == nil {
		n := s.st.unknownClient.Add(1)
		if s.warnAllowed() {
			s.log.Warn("RADIUS request from an unknown client dropped: add its network to radius_server.clients if it is a NAS of yours",
				"from", from.String(), "unknown_client_total", n)
		}
		return nil
	}
	req, err := lr.Parse(pkt, cl.Secret)
	if err != nil {
		s.st.malformed.Add(1)
		return nil
	}
	if req.Code != lr.CodeAccessRequest && req.Code != lr.CodeStatusServer {
		s.st.ignored.Add(1)
		return nil
	}
	switch err := rfc3579.Verify(pkt, cl.Secret, nil); {
	case err == nil:
	case errors.Is(err, rfc3579.ErrMissing) && !s.cfg.RequireMessageAuthenticator && req.Code == lr.CodeAccessRequest:
	default:
		n := s.st.badMessageAuthenticator.Add(1)
		if s.warnAllowed() {
			s.log.Warn("RADIUS request dropped: Message-Authenticator missing or wrong (wrong shared secret, or a NAS that does not send one)",
				"from", from.String(), "err", err.Error(), "bad_message_authenticator_total", n)
		}
		return nil
	}
	key := cacheKey{from: from, id: req.Identifier, auth: req.Authenticator}
	if cached, dup := s.lookup(key); dup {
		s.st.duplicates.Add(1)
		return cached
	}
	reply := s.decide(ctx, req, cl, from)
	s.store(key, reply)
	return reply
}

// warnAllowed lets one such warning through every 10 seconds; the
// counters in Stats count every drop.
func (s *Server) warnAllowed() bool {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	return now-last >= int64(10*time.Second) && s.lastWarn.CompareAndSwap(last, now)
}

func (s *Server) lookup(key cacheKey) ([]byte, bool) {
	now := time.Now()
	s.cache.Lock()
	defer s.cache.Unlock()
	if now.After(s.cache.sweep) {
		for k, e := range s.cache.m {
			if e.reply != nil && now.After(e.expires) {
				delete(s.cache.m, k)
			}
		}
		s.cache.sweep = now.Add(s.cfg.DuplicateWindow)
	}
	if e, ok := s.cache.m[key]; ok && (e.reply == nil || now.Before(e.expires)) {
		return e.reply, true
	}
	s.cache.m[key] = &cacheEntry{}
	return nil, false
}

func (s *Server) store(key cacheKey, reply []byte) {
	s.cache.Lock()
	defer s.cache.Unlock()
	if reply == nil {
		delete(s.cache.m, key)
		return
	}
	s.cache.m[key] = &cacheEntry{reply: reply, expires: time.Now().Add(s.cfg.DuplicateWindow)}
}

func (s *Server) decide(ctx context.Context, req *lr.Packet, cl *Client, from netip.AddrPort) []byte {
	if req.Code == lr.CodeStatusServer {
		s.st.statusServer.Add(1)
		return s.encode(req, lr.CodeAccessAccept, nil)
	}
	user, err := rfc2865.UserName_LookupString(req)
	if err != nil || user == "" {
		s.st.rejects.Add(1)
		return s.reject(req, "no User-Name in the request", nil)
	}
	// The answer to an Access-Challenge: its State must name a pending
	// challenge of this user and this NAS, and is good once.
	var answer *pending
	if state := rfc2865.State_Get(req); state != nil {
		p, check := s.ch.take(state, user, bindingOf(req, from))
		switch {
		case check == stateOK:
			answer = p
			defer p.first.wipe()
			defer p.upstream.Wipe()
			s.st.challengeAnswers.Add(1)
		case check == stateUnknown && !s.challengeOn():
			// Not ours, and no challenges here: the State means nothing
			// to this server, as before challenges existed.
		default:
			s.st.state[check].Add(1)
			s.st.rejects.Add(1)
			ref := newRef()
			level := slog.LevelInfo
			if check == stateUsed || check == stateOtherUser || check == stateOtherNAS {
				level = slog.LevelWarn
			}
			s.log.Log(ctx, level, "RADIUS answer to a challenge rejected", "user", user, "client", from.String(),
				"challenge", stateRef(string(state)), "ref", ref, "reason", check.reason())
			return s.reject(req, fmt.Sprintf("Gatehouse rejected the login (ref %s; the gateway log says why)", ref), nil)
		}
	}
	vs := rfc2548.VendorSpecific(req)
	challenge, hasChal := rfc2548.Lookup(vs, rfc2548.TypeCHAPChallenge)
	resp2, hasResp := rfc2548.Lookup(vs, rfc2548.TypeCHAP2Response)
	cred := authpolicy.Credential{User: user}
	cred.CallingStation, _ = rfc2865.CallingStationID_LookupString(req)
	var ident byte
	var typed []byte // PAP: the User-Password, cleared on return
	offer := false   // PAP: the login may end in an Access-Challenge
	switch {
	case answer != nil && req.Get(rfc2865.UserPassword_Type) == nil:
		s.st.rejects.Add(1)
		return s.reject(req, "the answer to an Access-Challenge carries the one-time code as User-Password (PAP)", nil)
	case hasChal && hasResp:
		if len(challenge) != 16 || len(resp2) != 50 {
			s.st.rejects.Add(1)
			return s.reject(req, "malformed MS-CHAPv2 attributes", nil)
		}
		ident = resp2[0]
		m := &authpolicy.MSCHAPv2Response{UserName: user}
		copy(m.AuthenticatorChallenge[:], challenge)
		copy(m.PeerChallenge[:], resp2[2:18])
		copy(m.NTResponse[:], resp2[26:50])
		cred.Kind, cred.MSCHAPv2 = authpolicy.MSCHAPv2, m
		cred.User = stripDomain(user)
	case req.Get(rfc2865.CHAPPassword_Type) != nil:
		if !s.cfg.CHAP {
			s.st.rejects.Add(1)
			return s.reject(req, "CHAP is not enabled on this server (radius_server.chap): use PAP or MS-CHAPv2", nil)
		}
		cp := rfc2865.CHAPPassword_Get(req)
		if len(cp) != 17 {
			s.st.rejects.Add(1)
			return s.reject(req, "malformed CHAP-Password", nil)
		}
		// The challenge is CHAP-Challenge when sent, else the Request
		// Authenticator (RFC 2865 section 2.2).
		ch := rfc2865.CHAPChallenge_Get(req)
		if ch == nil {
			ch = req.Authenticator[:]
		}
		m := &authpolicy.CHAPMD5Response{Identifier: cp[0], Challenge: bytes.Clone(ch)}
		copy(m.Response[:], cp[1:])
		cred.Kind, cred.CHAPMD5 = authpolicy.CHAPMD5, m
	case req.Get(rfc2865.UserPassword_Type) != nil:
		pw, err := rfc2865.UserPassword_Lookup(req)
		if err != nil {
			s.st.rejects.Add(1)
			return s.reject(req, "malformed User-Password", nil)
		}
		typed = pw
		defer clear(typed)
		if answer != nil && answer.upstream != nil {
			// The answer to a back-end's challenge: the user's answer
			// alone, to that back-end with its continuation. It may
			// challenge again, MaxUpstreamRounds in all.
			cred.Kind, cred.Secret = authpolicy.Plaintext, authpolicy.NewSecret(string(pw))
			ctx = authpolicy.WithResume(ctx, answer.upstream)
			if offer = answer.round < MaxUpstreamRounds && s.challengeOn(); offer {
				ctx = authpolicy.WithChallenge(ctx)
			}
			break
		}
		if answer != nil {
			// The second round: the password of the first with the code
			// where the policy writes it, as if typed on one line.
			whole := answer.complete(pw)
			cred.Kind, cred.Secret = authpolicy.Plaintext, authpolicy.NewSecret(string(whole))
			clear(whole)
			break
		}
		cred.Kind, cred.Secret = authpolicy.Plaintext, authpolicy.NewSecret(string(pw))
		if offer = s.challengeOn(); offer {
			ctx = authpolicy.WithChallenge(ctx)
		}
	default:
		s.st.rejects.Add(1)
		return s.reject(req, "authentication method not supported: use PAP or MS-CHAPv2 (or CHAP, when radius_server.chap is on)", nil)
	}
	// The log lines of a second round name its challenge.
	logArgs := []any{"user", user, "client", from.String(), "kind", cred.Kind.String()}
	if answer != nil {
		logArgs = append(logArgs, "challenge", stateRef(answer.state))
	}
	res, err := s.auth(ctx, cred)
	if err != nil {
		s.st.rejects.Add(1)
		ref := newRef()
		s.log.Warn("RADIUS login could not be decided: rejected", append(logArgs, "ref", ref, "err", err)...)
		return s.reject(req, fmt.Sprintf("Gatehouse could not decide the login (ref %s; the gateway log says why)", ref), mschapError(cred, ident, 0))
	}
	if !res.Accepted && offer && res.BackendChallenge != nil {
		round := 1
		if answer != nil && answer.upstream != nil {
			round = answer.round + 1
		}
		return s.sendUpstreamChallenge(ctx, req, from, user, round, res, logArgs)
	}
	if !res.Accepted && offer && res.Challenge != nil {
		return s.sendChallenge(ctx, req, from, user, typed, res, logArgs)
	}
	if !res.Accepted {
		s.st.rejects.Add(1)
		ref := newRef()
		s.log.Info("RADIUS login rejected", append(logArgs, "ref", ref, "reason", res.Reason())...)
		return s.reject(req, rejectMessage(res, ref), mschapError(cred, ident, res.MSCHAPError))
	}
	s.st.accepts.Add(1)
	s.log.Info("RADIUS login accepted", append(logArgs, "branch", res.Branch)...)
	attrs := append(lr.Attributes(nil), s.reply...)
	attrs = append(attrs, s.identityAttributes(res.Identity.Attributes)...)
	if cred.Kind == authpolicy.MSCHAPv2 {
		if res.Keys == nil || len(res.AuthenticatorResponse) != 42 {
			s.st.accepts.Add(^uint64(0))
			s.st.rejects.Add(1)
			return s.reject(req, "accepted without MPPE keys", mschapError(cred, ident, 0))
		}
		succ := append([]byte{ident}, res.AuthenticatorResponse...)
		var salt [2]byte
		_, _ = rand.Read(salt[:])
		sa := binary.BigEndian.Uint16(salt[:])
		attrs = append(attrs,
			vsa(rfc2548.TypeCHAP2Success, succ),
			vsa(rfc2548.TypeMPPESendKey, rfc2548.EncryptKey(res.Keys.Send, cl.Secret, req.Authenticator, sa)),
			vsa(rfc2548.TypeMPPERecvKey, rfc2548.EncryptKey(res.Keys.Recv, cl.Secret, req.Authenticator, sa+1)),
			vsa(rfc2548.TypeMPPEEncryptionPolicy, []byte{0, 0, 0, 1}),
			vsa(rfc2548.TypeMPPEEncryptionTypes, []byte{0, 0, 0, 6}),
		)
	}
	return s.encode(req, lr.CodeAccessAccept, attrs)
}

// challengeOn reports whether a PAP login may be answered with an
// Access-Challenge now.
func (s *Server) challengeOn() bool {
	return s.cfg.Challenge.Enabled != nil && s.cfg.Challenge.Enabled()
}

// sendChallenge answers a first round whose password was right and whose
// code is missing: the password is held under a new State, and the NAS
// gets an Access-Challenge with that State and the prompt. When too many
// challenges are pending, the login is rejected instead.
func (s *Server) sendChallenge(ctx context.Context, req *lr.Packet, from netip.AddrPort, user string, typed []byte, res *authpolicy.Result, logArgs []any) []byte {
	state, replaced, err := s.ch.add(user, bindingOf(req, from), typed, res.Challenge)
	return s.challengeReply(req, user, state, replaced, err, s.cfg.Challenge.Message, logArgs,
		"RADIUS login needs a one-time code: Access-Challenge sent", "branch", res.Challenge.Branch)
}

// sendUpstreamChallenge passes a back-end's challenge on: the back-end's
// continuation is held under a new State of this server's own (the
// upstream State never reaches the NAS), and the NAS gets an
// Access-Challenge with that State and the back-end's prompt.
func (s *Server) sendUpstreamChallenge(ctx context.Context, req *lr.Packet, from netip.AddrPort, user string, round int, res *authpolicy.Result, logArgs []any) []byte {
	up := res.BackendChallenge
	state, replaced, err := s.ch.addUpstream(user, bindingOf(req, from), up, round)
	return s.challengeReply(req, user, state, replaced, err, promptOf(up.Message, s.cfg.Challenge.Message), logArgs,
		"RADIUS login challenged by a back-end: Access-Challenge sent", "branch", up.Branch, "backend", up.Backend, "round", round)
}

// challengeReply is the answer once a challenge was added to the table
// (or not: err): an Access-Challenge with the new State and prompt, or a
// reject when the table had no room. sent and sentArgs say what was sent.
func (s *Server) challengeReply(req *lr.Packet, user string, state []byte, replaced string, err error, prompt string, logArgs []any, sent string, sentArgs ...any) []byte {
	if replaced != "" {
		s.log.Info("RADIUS challenge dropped for a newer one of the same user (radius_server.max_challenges_per_user)",
			"user", user, "challenge", replaced)
	}
	if err != nil {
		if errors.Is(err, errFull) {
			s.st.challengesFull.Add(1)
		}
		s.st.rejects.Add(1)
		ref := newRef()
		s.log.Warn("RADIUS login rejected: no challenge could be sent", append(logArgs, "ref", ref, "reason", err.Error())...)
		return s.reject(req, fmt.Sprintf("Gatehouse rejected the login (ref %s; the gateway log says why)", ref), nil)
	}
	s.st.challenges.Add(1)
	s.log.Info(sent, append(append(logArgs, sentArgs...), "challenge", stateRef(string(state)), "expires_in", s.cfg.Challenge.Timeout.String())...)
	return s.encode(req, lr.CodeAccessChallenge, lr.Attributes{
		{Type: rfc2865.State_Type, Attribute: state},
		{Type: rfc2865.ReplyMessage_Type, Attribute: lr.Attribute(prompt)},
	})
}

// promptOf is a back-end's prompt made fit for a Reply-Message: printable,
// at most 253 bytes, def when empty.
func promptOf(msg, def string) string {
	msg = strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg))
	if msg == "" {
		return def
	}
	for len(msg) > 253 {
		_, n := utf8.DecodeLastRuneInString(msg)
		msg = msg[:len(msg)-n]
	}
	return msg
}

// newRef is a short reference that the Reply-Message and the log line of a
// reject share, so an operator finds the reason of the user's reject.
func newRef() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// rejectMessage is the Reply-Message of a reject. It says whether the
// policy rejected the login or a back-end could not decide, and nothing
// about which factor failed: under PAP "password and code" that would tell
// an attacker that the password part was right. The log line with the same
// reference has the engine's full reason.
func rejectMessage(res *authpolicy.Result, ref string) string {
	failed := len(res.Branches) > 0
	for _, b := range res.Branches {
		if b.Outcome == authpolicy.Rejected {
			failed = false
		}
	}
	if failed {
		return fmt.Sprintf("Gatehouse could not decide the login: a back-end is unavailable (ref %s; the gateway log says which)", ref)
	}
	return fmt.Sprintf("Gatehouse rejected the login (ref %s; the gateway log says why)", ref)
}

func stripDomain(user string) string {
	for i := len(user) - 1; i >= 0; i-- {
		if user[i] == '\\' {
			return user[i+1:]
		}
	}
	return user
}

// mschapError is the MS-CHAP-Error of a failed MS-CHAPv2 login (RFC 2759
// section 6): the code a back-end reported (a RADIUS server behind the
// gateway said 647, account disabled), else 691 authentication failure;
// no retry.
func mschapError(cred authpolicy.Credential, ident byte, code int) *lr.AVP {
	if cred.Kind != authpolicy.MSCHAPv2 {
		return nil
	}
	if code <= 0 || code > 9999 {
		code = 691
	}
	v := append([]byte{ident}, fmt.Sprintf("E=%d R=0 C=%s V=3 M=Authentication failed", code, hex.EncodeToString(cred.MSCHAPv2.AuthenticatorChallenge[:]))...)
	return vsa(rfc2548.TypeCHAPError, v)
}

func (s *Server) reject(req *lr.Packet, reason string, extra *lr.AVP) []byte {
	var attrs lr.Attributes
	if len(reason) > 253 {
		reason = reason[:250] + "..."
	}
	attrs = append(attrs, &lr.AVP{Type: rfc2865.ReplyMessage_Type, Attribute: lr.Attribute(reason)})
	if extra != nil {
		attrs = append(attrs, extra)
	}
	return s.encode(req, lr.CodeAccessReject, attrs)
}

// encode builds a signed reply: Message-Authenticator over the packet with
// the Request Authenticator in place (RFC 3579 section 3.2), then the
// Response Authenticator (RFC 2865 section 3).
func (s *Server) encode(req *lr.Packet, code lr.Code, attrs lr.Attributes) []byte {
	p := &lr.Packet{Code: code, Identifier: req.Identifier, Authenticator: req.Authenticator, Secret: req.Secret}
	p.Attributes = attrs
	// Proxy-State is copied unmodified, in order (RFC 2865 section 5.33),
	// so that a proxy in front of the gateway can match the answer.
	for _, a := range req.Attributes {
		if a.Type == rfc2865.ProxyState_Type {
			p.Attributes = append(p.Attributes, a)
		}
	}
	p.Attributes = append(p.Attributes, &lr.AVP{Type: rfc3579.Type, Attribute: make([]byte, 16)})
	b, err := p.MarshalBinary()
	if err != nil {
		s.log.Error("RADIUS reply too large: dropped", "err", err)
		return nil
	}
	if err := rfc3579.Sign(b, req.Secret, nil); err != nil {
		return nil
	}
	h := md5.New()
	h.Write(b)
	h.Write(req.Secret)
	h.Sum(b[4:4:20])
	return b
}

func vsa(typ byte, v []byte) *lr.AVP {
	return &lr.AVP{Type: rfc2865.VendorSpecific_Type, Attribute: rfc2548.VSA(typ, v)}
}
