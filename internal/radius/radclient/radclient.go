package radclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
)

// Secret is a RADIUS shared secret. It never prints.
type Secret []byte

// String implements fmt.Stringer.
func (Secret) String() string { return "REDACTED" }

// GoString implements fmt.GoStringer.
func (Secret) GoString() string { return "REDACTED" }

// Format implements fmt.Formatter so that no verb prints the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("REDACTED")) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Server is one RADIUS server.
type Server struct {
	// Addr is host:port.
	Addr   string
	Secret Secret
}

// Config configures a Client. Zero durations and counts take the defaults
// in brackets.
type Config struct {
	Servers []Server
	// Timeout is the wait for an answer to one transmission [2s].
	Timeout time.Duration
	// Retries is the number of retransmissions to one server [1].
	Retries int
	// DeadAfter is the number of exchanges in a row that time out before
	// a server is marked dead [3].
	DeadAfter int
	// ProbeInterval is the least time between two Status-Server probes of
	// a dead server [10s].
	ProbeInterval time.Duration
	// AllowMissingMessageAuthenticator accepts Access replies without a
	// Message-Authenticator (one that is present must still be valid).
	// Off by default: Blast-RADIUS.
	AllowMissingMessageAuthenticator bool
}

// Defaults of Config.
const (
	DefaultTimeout       = 2 * time.Second
	DefaultRetries       = 1
	DefaultDeadAfter     = 3
	DefaultProbeInterval = 10 * time.Second
)

// Request is what to send; Exchange encodes it once per server.
type Request struct {
	Code       radius.Code
	Attributes radius.Attributes
	// UserPassword, when set, is added as User-Password, hidden with each
	// server's secret (RFC 2865 section 5.2).
	UserPassword []byte
}

// Response is a verified answer.
type Response struct {
	*radius.Packet
	// Server is the address that answered.
	Server string
	// RequestAuthenticator is that of the request this answers (MPPE keys
	// are hidden with it).
	RequestAuthenticator [16]byte
	// RTT is the time from the last transmission to the answer.
	RTT time.Duration
}

// ErrNoServer is returned (wrapped) when no server answered.
var ErrNoServer = errors.New("no RADIUS server answered")

// Client sends requests to servers with failover.
type Client struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	servers []*serverState
}

type serverState struct {
	Server
	// guarded by Client.mu
	timeouts  int // exchanges in a row that timed out
	dead      bool
	lastProbe time.Time
	probing   bool
}

// New returns a client for cfg; log may be nil.
func New(cfg Config, log *slog.Logger) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retries < 0 {
		cfg.Retries = 0
	} else if cfg.Retries == 0 {
		cfg.Retries = DefaultRetries
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, log: log}
	for _, s := range cfg.Servers {
		c.servers = append(c.servers, &serverState{Server: s})
	}
	return c
}

// Dead reports whether the server at addr is marked dead.
func (c *Client) Dead(addr string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if s.Addr == addr {
			return s.dead
		}
	}
	return false
}

// Exchange sends req to the first live server, failing over in order, and
// returns the first verified answer. An error means no server answered in
// time (or ctx ended); a reject is a Response.
func (c *Client) Exchange(ctx context.Context, req *Request) (*Response, error) {
	if len(c.servers) == 0 {
		return nil, fmt.Errorf("%w: no servers configured", ErrNoServer)
	}
	var errs []error
	tried := false
	for _, s := range c.servers {
		if c.isDead(s) {
			c.maybeProbe(s, false)
			continue
		}
		tried = true
		resp, err := c.exchangeWith(ctx, s, req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if !tried && ctx.Err() == nil {
		// Every server is dead: probe each in turn, use the first alive.
		for _, s := range c.servers {
			if !c.maybeProbe(s, true) {
				continue
			}
			resp, err := c.exchangeWith(ctx, s, req)
			if err == nil {
				return resp, nil
			}
			errs = append(errs, err)
		}
		if len(errs) == 0 {
			errs = append(errs, errors.New("every server is dead and none answered a Status-Server probe"))
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrNoServer, errors.Join(errs...))
}

// ExchangeWith sends req to the server at addr only, without failover,
// dead or not: the second round of an upstream Access-Challenge, whose
// State only that server knows. An error means it did not answer in time.
func (c *Client) ExchangeWith(ctx context.Context, addr string, req *Request) (*Response, error) {
	for _, s := range c.servers {
		if s.Addr == addr {
			return c.exchangeWith(ctx, s, req)
		}
	}
	return nil, fmt.Errorf("%w: %s is not a configured server (the configuration changed)", ErrNoServer, addr)
}

func (c *Client) isDead(s *serverState) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return s.dead
}

// maybeProbe sends a Status-Server to a dead server when ProbeInterval has
// passed since the last probe; inline waits for the answer, otherwise the
// probe runs in the background. It reports whether the server is alive.
func (c *Client) maybeProbe(s *serverState, inline bool) bool {
	c.mu.Lock()
	if !s.dead {
		c.mu.Unlock()
		return true
	}
	if s.probing || (!inline && time.Since(s.lastProbe) < c.cfg.ProbeInterval) {
		c.mu.Unlock()
		return false
	}
	s.probing, s.lastProbe = true, time.Now()
	c.mu.Unlock()
	probe := func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
		defer cancel()
		_, err := c.transmit(ctx, s, &Request{Code: radius.CodeStatusServer}, 1)
		c.mu.Lock()
		defer c.mu.Unlock()
		s.probing = false
		if err != nil {
			c.log.Debug("RADIUS server still dead", "server", s.Addr, "err", err)
			return false
		}
		s.dead, s.timeouts = false, 0
		c.log.Info("RADIUS server answered Status-Server: back in service", "server", s.Addr)
		return true
	}
	if inline {
		return probe()
	}
	go probe()
	return false
}

func (c *Client) exchangeWith(ctx context.Context, s *serverState, req *Request) (*Response, error) {
	resp, err := c.transmit(ctx, s, req, c.cfg.Retries+1)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		s.timeouts = 0
	case ctx.Err() == nil && errors.Is(err, errTimeout):
		s.timeouts++
		if s.timeouts >= c.cfg.DeadAfter && !s.dead {
			s.dead, s.lastProbe = true, time.Now()
			c.log.Warn("RADIUS server marked dead", "server", s.Addr, "timeouts_in_a_row", s.timeouts)
		}
	}
	return resp, err
}

var errTimeout = errors.New("no answer")

// Encode builds the wire form of req for one server: fresh Identifier and
// Authenticator, User-Password hidden, Message-Authenticator signed and,
// for an Accounting-Request, the Request Authenticator of RFC 2866.
func Encode(req *Request, secret []byte) ([]byte, *radius.Packet, error) {
	p := radius.New(req.Code, secret)
	if req.Code == radius.CodeAccountingRequest {
		p.Authenticator = [16]byte{}
	}
	p.Attributes = append(p.Attributes, req.Attributes...)
	if req.UserPassword != nil {
		if err := rfc2865.UserPassword_Set(p, req.UserPassword); err != nil {
			return nil, nil, err
		}
	}
	p.Add(rfc3579.Type, make([]byte, 16))
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	if err := rfc3579.Sign(b, secret, nil); err != nil {
		return nil, nil, err
	}
	if req.Code == radius.CodeAccountingRequest {
		// RFC 2866 section 3: MD5(Code+Identifier+Length+16 zero octets+
		// request attributes+secret); layeh computes it from p.
		q, err := radius.Parse(b, secret)
		if err != nil {
			return nil, nil, err
		}
		q.Authenticator = [16]byte{}
		if b, err = q.Encode(); err != nil {
			return nil, nil, err
		}
		copy(p.Authenticator[:], b[4:20])
	}
	return b, p, nil
}

// transmit sends req to s up to tries times, Timeout apart, and waits for
// a verified answer.
func (c *Client) transmit(ctx context.Context, s *serverState, req *Request, tries int) (*Response, error) {
	b, p, err := Encode(req, s.Secret)
	if err != nil {
		return nil, fmt.Errorf("%s: encode: %w", s.Addr, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", s.Addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Addr, err)
	}
	defer conn.Close()
	type answer struct {
		resp *Response
		err  error
	}
	answers := make(chan answer, 1)
	var sentMu sync.Mutex
	var sent time.Time
	var rejected error // why the last reply was dropped, if one was
	var rejectedMu sync.Mutex
	go func() {
		buf := make([]byte, radius.MaxPacketLength)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			resp, err := Verify(buf[:n], b, s.Secret, !c.cfg.AllowMissingMessageAuthenticator)
			if err != nil {
				rejectedMu.Lock()
				rejected = err
				rejectedMu.Unlock()
				c.log.Warn("RADIUS reply dropped", "server", s.Addr, "err", err)
				continue
			}
			sentMu.Lock()
			resp.RTT = time.Since(sent)
			sentMu.Unlock()
			resp.Server = s.Addr
			resp.RequestAuthenticator = p.Authenticator
			answers <- answer{resp: resp}
			return
		}
	}()
	timer := time.NewTimer(c.cfg.Timeout)
	defer timer.Stop()
	for try := 0; try < tries; try++ {
		sentMu.Lock()
		sent = time.Now()
		sentMu.Unlock()
		if _, err := conn.Write(b); err != nil {
			c.log.Debug("RADIUS send failed", "server", s.Addr, "err", err)
		}
		timer.Reset(c.cfg.Timeout)
		select {
		case a := <-answers:
			if a.err != nil {
				// ICMP port unreachable on the connected socket: the
				// server is down, which counts like a timeout.
				return nil, fmt.Errorf("%s: %w: %w", s.Addr, errTimeout, a.err)
			}
			return a.resp, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w", s.Addr, ctx.Err())
		case <-timer.C:
		}
	}
	rejectedMu.Lock()
	defer rejectedMu.Unlock()
	if rejected != nil {
		return nil, fmt.Errorf("%s: %w after %d tries (a reply came but was refused: %w)", s.Addr, errTimeout, tries, rejected)
	}
	return nil, fmt.Errorf("%s: %w after %d tries, %s apart", s.Addr, errTimeout, tries, c.cfg.Timeout)
}

// Verify checks that reply answers the encoded request: Identifier,
// Response Authenticator and Message-Authenticator (required on Access
// replies when requireMA). It returns the parsed reply.
func Verify(reply, request, secret []byte, requireMA bool) (*Response, error) {
	if len(reply) < 20 || len(request) < 20 {
		return nil, errors.New("short packet")
	}
	if reply[1] != request[1] {
		return nil, fmt.Errorf("identifier %d does not match the request's %d", reply[1], request[1])
	}
	p, err := radius.Parse(reply, secret)
	if err != nil {
		return nil, err
	}
	if !radius.IsAuthenticResponse(reply, request, secret) {
		return nil, errors.New("wrong Response Authenticator (wrong shared secret?)")
	}
	var auth [16]byte
	copy(auth[:], request[4:20])
	switch err := rfc3579.Verify(reply, secret, &auth); {
	case err == nil:
	case errors.Is(err, rfc3579.ErrMissing):
		needs := p.Code == radius.CodeAccessAccept || p.Code == radius.CodeAccessReject || p.Code == radius.CodeAccessChallenge || radius.Code(request[0]) == radius.CodeStatusServer
		if needs && requireMA {
			return nil, errors.New("no Message-Authenticator in the reply (required against Blast-RADIUS, CVE-2024-3596)")
		}
	default:
		return nil, fmt.Errorf("reply refused: %w", err)
	}
	return &Response{Packet: p}, nil
}
