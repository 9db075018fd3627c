package session

import (
	"bytes"
	"context"
	"encoding/binary"
	"github.com/gatehouse-vpn/gatehouse/server/session/sessiontest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ccp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/chap"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ipcp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
)

// engineAuth adapts authpolicy.Engine as the gateway will.
type engineAuth struct{ e *authpolicy.Engine }

func (a engineAuth) Authenticate(ctx context.Context, cred authpolicy.Credential) (*authpolicy.Result, error) {
	return a.e.Authenticate(ctx, "pptp", cred)
}

func newAuth(t testing.TB) Authenticator {
	pw := memory.New(memory.Options{})
	pw.SetUser("alice", memory.User{Secrets: []string{"correct horse"}})
	pw.SetUser("mallory", memory.User{Secrets: []string{"letmein"}, Disabled: true})
	e, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": pw},
		[]authpolicy.Service{{Name: "pptp", Policy: "Password"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return engineAuth{e}
}

// chanLink is the in-memory Link: frames to the client.
type chanLink struct{ c chan []byte }

func (l chanLink) SendPPP(frame []byte) error {
	l.c <- bytes.Clone(frame)
	return nil
}

// pool is a tiny address pool for IPCP.
type pool struct {
	mu   sync.Mutex
	next byte
	held map[netip.Addr]bool
}

func (p *pool) Allocate() (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	a := netip.AddrFrom4([4]byte{10, 8, 0, 1 + p.next})
	p.held[a] = true
	return a, true
}

func (p *pool) Release(a netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.held, a)
}

func (p *pool) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

type fixture struct {
	t       *testing.T
	s       *Session
	c       *sessiontest.Client
	pool    *pool
	fromSrv chan []byte
	gotIP   chan []byte // delivered by the session (towards the TUN)
}

func testConfig(t testing.TB, p *pool) Config {
	return Config{
		LCP: lcp.DefaultPolicy(),
		IPCP: ipcp.Policy{
			LocalAddress: netip.MustParseAddr("10.8.0.1"),
			Allocate:     p.Allocate, Release: p.Release,
			DNS: []netip.Addr{netip.MustParseAddr("10.8.0.53")},
		},
		CCP:                ccp.DefaultPolicy(),
		Auth:               newAuth(t),
		AuthTimeout:        2 * time.Second,
		NegotiationTimeout: 10 * time.Second,
		FailureDelay:       20 * time.Millisecond,
	}
}

func newFixture(t *testing.T, user, password string, mod func(*Config, *sessiontest.Client)) *fixture {
	t.Helper()
	f := &fixture{t: t, pool: &pool{held: map[netip.Addr]bool{}}, fromSrv: make(chan []byte, 256), gotIP: make(chan []byte, 16)}
	cfg := testConfig(t, f.pool)
	f.c = sessiontest.NewClient(user, password)
	if mod != nil {
		mod(&cfg, f.c)
	}
	f.s = New(cfg, chanLink{f.fromSrv}, func(ip []byte) { f.gotIP <- bytes.Clone(ip) })
	f.c.ToServer = f.s.ReceivePPP
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case fr := <-f.fromSrv:
				f.c.Receive(fr)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() {
		f.s.Close("test over")
		select {
		case <-f.s.Done():
		case <-time.After(10 * time.Second):
			t.Error("session did not end")
		}
		close(stop)
		wg.Wait()
	})
	f.c.Start()
	f.s.Start()
	return f
}

func (f *fixture) waitDone() string {
	f.t.Helper()
	select {
	case <-f.s.Done():
		return f.s.Cause()
	case <-time.After(8 * time.Second):
		f.t.Fatal("session did not end")
	}
	return ""
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ipPacket returns a minimal IPv4 packet of n octets.
func ipPacket(n int, src, dst [4]byte) []byte {
	b := make([]byte, n)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	b[8] = 64
	b[9] = 17
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	for i := 20; i < n; i++ {
		b[i] = byte(i)
	}
	return b
}

func TestFullNegotiationAndData(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", nil)
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	if !f.c.SuccessOK() {
		t.Fatal("client did not verify the server's S= authenticator response")
	}
	info := f.s.Info()
	if info.User != "alice" || info.Branch != "Password" || info.MPPEBits != 128 || !info.Stateless {
		t.Fatalf("info = %+v", info)
	}
	addr, dns := f.c.Addresses()
	if addr != info.Address || !addr.IsValid() || dns != netip.MustParseAddr("10.8.0.53") {
		t.Fatalf("client address %v dns %v, server says %v", addr, dns, info.Address)
	}

	f.roundTrip(t)
	info = f.s.Info()
	if info.PacketsIn != 1 || info.PacketsOut != 1 || info.BytesIn != 100 || info.BytesOut != 1400 {
		t.Fatalf("counters %+v", info)
	}
}

func TestPlainIPRefused(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", nil)
	pkt := ipPacket(60, [4]byte{10, 8, 0, 2}, [4]byte{8, 8, 8, 8})
	// Before anything is negotiated: neither plain nor encrypted passes.
	f.s.ReceivePPP(ppp.AppendFrame(nil, ppp.ProtoIP, pkt, false, false))
	f.s.ReceivePPP(ppp.AppendFrame(nil, ppp.ProtoCompressedDatagram, []byte{0x90, 0x00, 1, 2, 3}, false, false))
	f.s.SendIP(pkt)
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	// In the data phase, plain IP is still refused: MPPE is required.
	f.s.ReceivePPP(ppp.AppendFrame(nil, ppp.ProtoIP, pkt, false, false))
	select {
	case <-f.gotIP:
		t.Fatal("a plain IP packet was delivered")
	case <-time.After(20 * time.Millisecond):
	}
	info := f.s.Info()
	if info.DroppedPlainIP != 2 || info.DroppedNotReady != 2 || info.PacketsIn != 0 || info.PacketsOut != 0 {
		t.Fatalf("info = %+v", info)
	}
}

func TestWrongPassword(t *testing.T) {
	for _, tc := range []struct {
		name, user, password string
		code                 chap.ErrorCode
		cause                string
	}{
		{"wrong password", "alice", "battery staple", chap.AuthenticationFailure, "wrong secret"},
		{"unknown user", "eve", "x", chap.AuthenticationFailure, "no such user"},
		{"disabled", "mallory", "letmein", chap.AccountDisabled, "disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.user, tc.password, nil)
			cause := f.waitDone()
			t.Logf("cause: %s", cause)
			if !strings.Contains(cause, tc.cause) || !strings.Contains(cause, "Password") {
				t.Fatalf("cause %q does not name the policy reason %q", cause, tc.cause)
			}
			fl, ok := f.c.Failure()
			if !ok || fl.Error != tc.code {
				t.Fatalf("client got Failure %+v (%v), want E=%d", fl, ok, tc.code)
			}
			if !f.c.GotTerminate() {
				t.Fatal("no LCP Terminate-Request after the Failure")
			}
			if f.pool.Held() != 0 {
				t.Fatal("address not given back")
			}
		})
	}
}

func TestClientInsistsOnPAP(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", func(_ *Config, c *sessiontest.Client) { c.Insist = lcp.PAP })
	cause := f.waitDone()
	t.Logf("cause: %s", cause)
	if !strings.Contains(cause, "PAP") || !strings.Contains(cause, "refused") {
		t.Fatalf("cause %q does not give the LCP reason", cause)
	}
}

func TestCloseSendsTerminateRequest(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", nil)
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	f.s.Close("administrator hung up")
	if cause := f.waitDone(); cause != "administrator hung up" {
		t.Fatalf("cause %q", cause)
	}
	if !f.c.GotTerminate() {
		t.Fatal("no LCP Terminate-Request")
	}
	if f.pool.Held() != 0 {
		t.Fatal("address not given back")
	}
	f.s.SendIP(ipPacket(60, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2}))
	if f.s.Info().DroppedNotReady != 1 {
		t.Fatal("SendIP after the end was not dropped")
	}
}

func TestQueueFullDrops(t *testing.T) {
	cfg := testConfig(t, &pool{held: map[netip.Addr]bool{}})
	cfg.QueueLen = 2
	s := New(cfg, chanLink{make(chan []byte, 16)}, func([]byte) {})
	// Not started: nothing drains the queue.
	fr := ppp.AppendFrame(nil, ppp.ProtoLCP, []byte{9, 1, 0, 8, 0, 0, 0, 0}, false, false)
	for range 5 {
		s.ReceivePPP(fr)
	}
	if got := s.Info().DroppedQueueFull; got != 3 {
		t.Fatalf("dropped %d, want 3", got)
	}
}

func TestEchoAnswered(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", nil)
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	f.c.SendEchoRequest()
	eventually(t, "Echo-Reply", func() bool { return f.c.Codes(ppp.ProtoLCP, ppp.EchoReply) == 1 })
}

func TestUnknownProtocolRejected(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", nil)
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	f.s.ReceivePPP(ppp.AppendFrame(nil, ppp.ProtoIPV6CP, []byte{1, 1, 0, 4}, false, false))
	eventually(t, "Protocol-Reject", func() bool { return f.c.Codes(ppp.ProtoLCP, ppp.ProtocolReject) == 1 })
}

func TestStatefulLossAsksForReset(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", func(cfg *Config, c *sessiontest.Client) {
		cfg.CCP.Stateless = ccp.StatelessPreferred
		c.WantStatefulMPPE()
	})
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	if f.s.Info().Stateless {
		t.Fatal("session is stateless; want stateful")
	}
	ip := ipPacket(60, [4]byte{10, 8, 0, 2}, [4]byte{8, 8, 8, 8})
	f.c.SendIP(ip)
	<-f.gotIP
	f.c.LoseIP(ip)
	f.c.SendIP(ip)
	eventually(t, "CCP Reset-Request", func() bool { return f.c.Codes(ppp.ProtoCCP, ppp.ResetRequest) >= 1 })
	if i := f.s.Info(); i.DroppedDecrypt != 1 || i.PacketsIn != 1 {
		t.Fatalf("info %+v", i)
	}
}

func TestTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mod   func(*Config, *sessiontest.Client)
		cause string
	}{
		{"negotiation deadline", func(cfg *Config, c *sessiontest.Client) {
			cfg.NegotiationTimeout = 30 * time.Millisecond
			cfg.RestartInterval = 20 * time.Millisecond
			c.IgnoreChallenge = true
		}, errNegotiationTimeout.Error()},
		{"challenge unanswered", func(cfg *Config, c *sessiontest.Client) {
			cfg.RestartInterval = 5 * time.Millisecond
			c.IgnoreChallenge = true
		}, "peer does not answer the CHAP Challenge"},
		{"silent peer", func(cfg *Config, c *sessiontest.Client) {
			cfg.RestartInterval = 5 * time.Millisecond
			c.Mute = true
		}, "LCP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "alice", "correct horse", tc.mod)
			cause := f.waitDone()
			t.Logf("cause: %s (challenges seen: %d)", cause, f.c.ChallengeCount())
			if !strings.Contains(cause, tc.cause) {
				t.Fatalf("cause %q, want %q", cause, tc.cause)
			}
		})
	}
}
