package control_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/control/controltest"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// TestMain fails the run when a goroutine of this package or of
// controltest outlives the tests: every connection's routines must end
// with its connection, and Close must wait for them.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := leakedGoroutines(5 * time.Second); leaks != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked:\n%s\n", leaks)
			code = 1
		}
	}
	os.Exit(code)
}

func leakedGoroutines(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaks []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			// Any frame of this package or of controltest, including a
			// goroutine created but not yet running, except TestMain's.
			if strings.Contains(g, "gatehouse/server/control") && !strings.Contains(g, "control_test.TestMain") {
				leaks = append(leaks, g)
			}
		}
		if len(leaks) == 0 {
			return ""
		}
		if time.Now().After(deadline) {
			return strings.Join(leaks, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// harness is a Server on loopback TCP with a recording CallHandler and
// log. Its cleanup closes the server, checks that Serve returned
// ErrServerClosed and checks every log line.
type harness struct {
	t      *testing.T
	s      *control.Server
	h      *controltest.Handler
	logs   *controltest.LogRecorder
	addr   string
	served chan error
}

func newHarness(t *testing.T, cfg control.Config) *harness {
	t.Helper()
	return newHarnessWith(t, cfg, controltest.NewHandler())
}

func newHarnessWith(t *testing.T, cfg control.Config, h *controltest.Handler) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	x := &harness{t: t, h: h, logs: controltest.NewLogRecorder(), addr: ln.Addr().String(), served: make(chan error, 1)}
	cfg.Log = slog.New(x.logs)
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 300 * time.Millisecond
	}
	x.s = control.New(cfg, h)
	go func() { x.served <- x.s.Serve(ln) }()
	t.Cleanup(func() {
		x.s.Close()
		if err := <-x.served; !errors.Is(err, control.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		x.checkLogs()
	})
	return x
}

// checkLogs: every line about a connection carries the client's address,
// and no line hands an operator Go jargon instead of words.
func (x *harness) checkLogs() {
	t := x.t
	for _, r := range x.logs.Records() {
		serverLevel := r.Attrs["routine"] == "Serve" || r.Message == "cannot accept control connection"
		if !serverLevel {
			if _, err := netip.ParseAddrPort(r.Attrs["client"]); err != nil {
				t.Errorf("log line without the client's address: %v", r)
			}
		}
		for k, v := range r.Attrs {
			for _, jargon := range []string{"EOF", "use of closed network connection", "<nil>", "%!"} {
				if strings.Contains(v, jargon) {
					t.Errorf("log attribute %s=%q contains %q: %v", k, v, jargon, r)
				}
			}
		}
		if r.Level >= slog.LevelWarn && r.Attrs["cause"] == "" && r.Attrs["reason"] == "" && r.Attrs["hint"] == "" {
			t.Errorf("warning that does not say why: %v", r)
		}
	}
}

// findLog returns the first record with message msg whose attribute key
// contains substr.
func (x *harness) findLog(msg, key, substr string) (controltest.Record, bool) {
	for _, r := range x.logs.Records() {
		if r.Message == msg && strings.Contains(r.Attrs[key], substr) {
			return r, true
		}
	}
	return controltest.Record{}, false
}

func (x *harness) mustLog(msg, key, substr string) controltest.Record {
	x.t.Helper()
	// The close line comes after the socket closed; give it a moment.
	deadline := time.Now().Add(2 * time.Second)
	for {
		if r, ok := x.findLog(msg, key, substr); ok {
			return r
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("no log line %q with %s containing %q; have:\n%s", msg, key, substr, x.dumpLogs())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (x *harness) dumpLogs() string {
	var b strings.Builder
	for _, r := range x.logs.Records() {
		b.WriteString(r.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (x *harness) dial() *controltest.Client {
	x.t.Helper()
	c, err := controltest.Dial(x.addr)
	if err != nil {
		x.t.Fatal(err)
	}
	x.t.Cleanup(func() { c.Close() })
	return c
}

// established dials, starts the control connection and places a call
// with the client's Call ID peerID.
func (x *harness) established(peerID uint16) (*controltest.Client, *control.Call, *pptp.OutgoingCallReply) {
	x.t.Helper()
	c := x.dial()
	x.start(c)
	ocrp, call := x.call(c, peerID)
	return c, call, ocrp
}

func (x *harness) start(c *controltest.Client) {
	x.t.Helper()
	rep, err := c.Start()
	if err != nil {
		x.t.Fatal(err)
	}
	if rep.ResultCode != pptp.StartSuccess {
		x.t.Fatalf("Start-Control-Connection-Reply: %v, %v", rep.ResultCode, rep.ErrorCode)
	}
}

func (x *harness) call(c *controltest.Client, peerID uint16) (*pptp.OutgoingCallReply, *control.Call) {
	x.t.Helper()
	ocrp, err := c.Call(peerID)
	if err != nil {
		x.t.Fatal(err)
	}
	if ocrp.ResultCode != pptp.OutgoingConnected {
		x.t.Fatalf("Outgoing-Call-Reply: %v, %v", ocrp.ResultCode, ocrp.ErrorCode)
	}
	e, err := x.h.Expect(controltest.NewCall, time.Second)
	if err != nil {
		x.t.Fatal(err)
	}
	if e.Call.ID != ocrp.CallID || e.Call.PeerID != peerID {
		x.t.Fatalf("NewCall got IDs %d/%d, the reply says %d/%d", e.Call.ID, e.Call.PeerID, ocrp.CallID, peerID)
	}
	return ocrp, e.Call
}

func (x *harness) expectEnded(call *control.Call, cause string) {
	x.t.Helper()
	e, err := x.h.Expect(controltest.CallEnded, 2*time.Second)
	if err != nil {
		x.t.Fatal(err)
	}
	if e.Call != call {
		x.t.Fatalf("CallEnded for call %d, want %d", e.Call.ID, call.ID)
	}
	if !strings.Contains(e.Cause, cause) {
		x.t.Fatalf("CallEnded cause %q, want it to contain %q", e.Cause, cause)
	}
}

func (x *harness) noMoreEvents() {
	x.t.Helper()
	if e, err := x.h.Next(50 * time.Millisecond); err == nil {
		x.t.Fatalf("unexpected %v for call %d (cause %q)", e.Kind, e.Call.ID, e.Cause)
	}
}

func closed(t *testing.T, c *controltest.Client) {
	t.Helper()
	if err := c.Closed(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}
