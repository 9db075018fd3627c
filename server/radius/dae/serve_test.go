package dae_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae/daetest"
)

// gate is a Handler that records the order of Acct-Session-Ids and holds
// the session "block" until release is closed.
type gate struct {
	mu      sync.Mutex
	order   []string
	release chan struct{}
}

func (g *gate) Disconnect(ctx context.Context, r *dae.Request) error {
	g.mu.Lock()
	g.order = append(g.order, r.SessionID)
	g.mu.Unlock()
	if r.SessionID == "block" {
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (g *gate) CoA(ctx context.Context, r *dae.Request) error { return nil }

// exchange sends req from c and waits for its answer (the deadline only
// bounds a hung test; nothing is measured).
func exchange(t *testing.T, c net.PacketConn, to net.Addr, req []byte) *daetest.Reply {
	t.Helper()
	if _, err := c.WriteTo(req, to); err != nil {
		t.Fatal(err)
	}
	return receive(t, c, req)
}

func receive(t *testing.T, c net.PacketConn, req []byte) *daetest.Reply {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	n, _, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	return answer(t, req, buf[:n])
}

// TestServe runs the server on a UDP socket: one client's requests are
// handled in the order they were sent; a Handler held up by one client
// does not hold up another; cancelling the context stops Serve, which
// returns nil and leaves no goroutine behind.
func TestServe(t *testing.T) {
	a, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("SKIP: cannot bind 127.0.0.2 (%v): this test needs the whole 127.0.0.0/8 on lo", err)
	}
	defer b.Close()
	before := runtime.NumGoroutine()
	g := &gate{release: make(chan struct{})}
	s, err := dae.NewServer(dae.Config{
		Handler: g,
		Clients: []dae.Client{
			{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: secret},
			{Prefix: netip.MustParsePrefix("127.0.0.2/32"), Secret: secret},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, pc) }()

	// Client a: "block", then s0..s9, all sent before "block" is released.
	blocked := daetest.MustEncode(lr.CodeDisconnectRequest, 0, attrs(avp(acctSessionID, "block")), secret, true)
	if _, err := a.WriteTo(blocked, pc.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	var reqs [][]byte
	for i := range 10 {
		req := daetest.MustEncode(lr.CodeDisconnectRequest, byte(i+1), attrs(avp(acctSessionID, fmt.Sprintf("s%d", i))), secret, true)
		reqs = append(reqs, req)
		if _, err := a.WriteTo(req, pc.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	// Client b is answered while a's handler is held.
	other := daetest.MustEncode(lr.CodeDisconnectRequest, 0, attrs(avp(acctSessionID, "other")), secret, true)
	if r := exchange(t, b, pc.LocalAddr(), other); r.Code != lr.CodeDisconnectACK {
		t.Errorf("client b: %s", r.Code)
	}
	close(g.release)
	if r := receive(t, a, blocked); r.Code != lr.CodeDisconnectACK {
		t.Errorf("block: %s", r.Code)
	}
	for _, req := range reqs {
		receive(t, a, req)
	}
	g.mu.Lock()
	var fromA []string
	for _, id := range g.order {
		if id != "other" {
			fromA = append(fromA, id)
		}
	}
	g.mu.Unlock()
	want := []string{"block", "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"}
	if fmt.Sprint(fromA) != fmt.Sprint(want) {
		t.Errorf("handled in order %v, want %v", fromA, want)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if st := s.Stats(); st.Requests != 12 || st.DisconnectACKs != 12 {
		t.Errorf("stats %+v", st)
	}
	// Goroutines of the server are gone (polled: the runtime reaps them
	// asynchronously).
	for i := 0; runtime.NumGoroutine() > before; i++ {
		if i == 300 {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeClosed: Serve returns nil when its socket is closed.
func TestServeClosed(t *testing.T) {
	s := newServer(t, &recorder{}, nil, nil)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), pc) }()
	pc.Close()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestListenAndServeBadAddress(t *testing.T) {
	s := newServer(t, &recorder{}, nil, nil)
	if err := s.ListenAndServe(context.Background(), "256.0.0.1:3799"); err == nil {
		t.Error("no error")
	}
}
