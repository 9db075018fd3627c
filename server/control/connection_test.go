package control_test

import (
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/control/controltest"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

func TestEchoAnswered(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, _, _ := x.established(1)

	if err := c.Send(&pptp.EchoRequest{Identifier: 0xC0FFEE}); err != nil {
		t.Fatal(err)
	}
	rep, err := controltest.Expect[*pptp.EchoReply](c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Identifier != 0xC0FFEE || rep.ResultCode != pptp.EchoOK {
		t.Fatalf("Echo-Reply %+v", *rep)
	}
}

// The server sends Echo-Requests when the connection is quiet, keeps a
// client that answers, and drops one that stops answering. The margins
// are wide so that a loaded machine does not fail the test: what is
// checked is the order of events, not their timing.
func TestEchoKeepAliveAndTimeout(t *testing.T) {
	x := newHarness(t, control.Config{EchoInterval: 30 * time.Millisecond, EchoTimeout: time.Second})
	c, call, _ := x.established(1)

	c.AnswerEcho(true)
	deadline := time.Now().Add(5 * time.Second)
	for c.EchoesAnswered() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d Echo-Requests in 5s with EchoInterval 30ms", c.EchoesAnswered())
		}
		time.Sleep(10 * time.Millisecond)
	}
	x.noMoreEvents() // answered, the call stays up

	c.AnswerEcho(false)
	req, err := controltest.Expect[*pptp.EchoRequest](c, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if req.Identifier == 0 {
		t.Fatalf("Echo-Request identifier 0")
	}
	if err := c.Closed(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	x.expectEnded(call, "no answer to echo within 1s: the client went away or a firewall drops TCP 1723")
	r := x.mustLog("control connection closed", "cause", "no answer to echo")
	if r.Level.String() != "WARN" {
		t.Fatalf("echo timeout logged at %v", r.Level)
	}
	if st := x.s.Stats(); st.EchoTimeouts != 1 {
		t.Fatalf("Stats %+v", st)
	}
}

// Any message counts as life: a client that talks more often than
// EchoInterval is never sent an Echo-Request, even if it would not answer.
func TestEveryMessageResetsEchoTimer(t *testing.T) {
	const interval = 600 * time.Millisecond
	x := newHarness(t, control.Config{EchoInterval: interval, EchoTimeout: time.Second})
	c, _, _ := x.established(1)

	for start := time.Now(); time.Since(start) < 2*interval; {
		time.Sleep(interval / 12)
		if err := c.Send(&pptp.EchoRequest{Identifier: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := controltest.Expect[*pptp.EchoReply](c, 2*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	x.noMoreEvents()
	if st := x.s.Stats(); st.EchoTimeouts != 0 {
		t.Fatalf("Stats %+v", st)
	}
}

// A peer that never completes a Start-Control-Connection-Request, or
// starts and never calls, does not hold its connection.
func TestSetupTimeout(t *testing.T) {
	const setup = 150 * time.Millisecond
	sccrq := pptp.Append(nil, &pptp.StartControlConnectionRequest{ProtocolVersion: pptp.ProtocolVersion})

	t.Run("silent", func(t *testing.T) {
		x := newHarness(t, control.Config{SetupTimeout: setup})
		c := x.dial()
		closed(t, c)
		x.mustLog("control connection closed", "cause", "no Start-Control-Connection-Request within 150ms")
	})
	t.Run("slow loris", func(t *testing.T) {
		x := newHarness(t, control.Config{SetupTimeout: setup})
		c := x.dial()
		start := time.Now()
		for i := 0; i < 20 && time.Since(start) < time.Second; i++ {
			if c.SendRaw(sccrq[i:i+1]) != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		closed(t, c)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("closed after %v, want about SetupTimeout (%v)", d, setup)
		}
		x.mustLog("control connection closed", "cause", "no Start-Control-Connection-Request within 150ms")
	})
	t.Run("no call", func(t *testing.T) {
		x := newHarness(t, control.Config{SetupTimeout: setup})
		c := x.dial()
		x.start(c)
		req, err := controltest.Expect[*pptp.StopControlConnectionRequest](c, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if req.Reason != pptp.StopNone {
			t.Fatalf("Stop-Control-Connection-Request reason %v", req.Reason)
		}
		if err := c.Send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK}); err != nil {
			t.Fatal(err)
		}
		closed(t, c)
		x.mustLog("control connection closed", "cause", "no Outgoing-Call-Request within 150ms")
	})
}

// A malformed message closes its own connection, counted and logged, and
// nothing else: another client's call stays up.
func TestMalformedClosesOnlyThatConnection(t *testing.T) {
	echo := func() []byte { return pptp.Append(nil, &pptp.EchoRequest{Identifier: 1}) }
	for _, tc := range []struct {
		name      string
		start     bool // establish the connection first
		raw       []byte
		causePart string
	}{
		{"HTTP probe", false, []byte("GET / HTTP/1.1\r\nHost: vpn.example\r\n\r\n"), "bad magic cookie"},
		{"bad magic cookie", true, func() []byte {
			b := echo()
			b[7] ^= 0xFF
			return b
		}(), "bad magic cookie"},
		{"bad length", true, func() []byte {
			b := append(echo(), 0)
			binary.BigEndian.PutUint16(b, 17)
			return b
		}(), "Echo-Request: length 17, want 16"},
		{"unknown type", true, func() []byte {
			b := echo()
			binary.BigEndian.PutUint16(b[8:], 16)
			return b
		}(), "unknown control message type 16"},
		{"management message type", false, func() []byte {
			b := echo()
			binary.BigEndian.PutUint16(b[2:], 2)
			return b
		}(), "PPTP message type 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newHarness(t, control.Config{})
			a, callA, _ := x.established(1)

			b := x.dial()
			var callB *control.Call
			if tc.start {
				x.start(b)
				_, callB = x.call(b, 2)
			}
			if err := b.SendRaw(tc.raw); err != nil {
				t.Fatal(err)
			}
			closed(t, b)
			if callB != nil {
				x.expectEnded(callB, "malformed control message")
			}
			r := x.mustLog("control connection closed", "cause", tc.causePart)
			if r.Attrs["client"] != b.Conn().LocalAddr().String() || r.Level.String() != "WARN" {
				t.Fatalf("logged as %v; the client is %v", r, b.Conn().LocalAddr())
			}
			if !strings.Contains(r.Attrs["cause"], "the peer does not speak PPTP, or the stream is out of step") {
				t.Fatalf("cause %q does not say what it means", r.Attrs["cause"])
			}

			// A's call is untouched.
			if err := a.Send(&pptp.EchoRequest{Identifier: 9}); err != nil {
				t.Fatal(err)
			}
			if _, err := controltest.Expect[*pptp.EchoReply](a, time.Second); err != nil {
				t.Fatal(err)
			}
			x.noMoreEvents()
			if x.s.Calls() != 1 {
				t.Fatalf("Calls() = %d, want A's call", x.s.Calls())
			}
			if st := x.s.Stats(); st.Malformed != 1 {
				t.Fatalf("Stats %+v", st)
			}
			_ = callA
		})
	}
}

// Before Start-Control-Connection-Request the only acceptable message is
// that one. A request with a reply gets General Error, Not-Connected;
// every such connection is closed.
func TestMessagesBeforeStart(t *testing.T) {
	for _, tc := range []struct {
		send  pptp.Message
		check func(t *testing.T, m pptp.Message)
	}{
		{&pptp.OutgoingCallRequest{CallID: 77}, func(t *testing.T, m pptp.Message) {
			r := m.(*pptp.OutgoingCallReply)
			if r.ResultCode != pptp.OutgoingGeneralError || r.ErrorCode != pptp.GeneralErrorNotConnected || r.PeerCallID != 77 {
				t.Fatalf("%+v", *r)
			}
		}},
		{&pptp.EchoRequest{Identifier: 5}, func(t *testing.T, m pptp.Message) {
			r := m.(*pptp.EchoReply)
			if r.ResultCode != pptp.EchoGeneralError || r.ErrorCode != pptp.GeneralErrorNotConnected || r.Identifier != 5 {
				t.Fatalf("%+v", *r)
			}
		}},
		{&pptp.IncomingCallRequest{CallID: 8}, func(t *testing.T, m pptp.Message) {
			r := m.(*pptp.IncomingCallReply)
			if r.ResultCode != pptp.IncomingGeneralError || r.ErrorCode != pptp.GeneralErrorNotConnected || r.PeerCallID != 8 {
				t.Fatalf("%+v", *r)
			}
		}},
		{&pptp.StopControlConnectionRequest{Reason: pptp.StopNone}, func(t *testing.T, m pptp.Message) {
			if r := m.(*pptp.StopControlConnectionReply); r.ResultCode != pptp.StopOK {
				t.Fatalf("%+v", *r)
			}
		}},
		{&pptp.SetLinkInfo{PeerCallID: 1}, nil},
		{&pptp.CallClearRequest{CallID: 1}, nil},
		{&pptp.StartControlConnectionReply{ResultCode: pptp.StartSuccess}, nil},
	} {
		t.Run(tc.send.ControlMessageType().Abbrev(), func(t *testing.T) {
			x := newHarness(t, control.Config{})
			c := x.dial()
			if err := c.Send(tc.send); err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				m, err := c.Next(time.Second)
				if err != nil {
					t.Fatalf("no reply to %v: %v", tc.send.ControlMessageType(), err)
				}
				tc.check(t, m)
			}
			closed(t, c)
			x.mustLog("control connection closed", "cause",
				tc.send.ControlMessageType().String()+" before Start-Control-Connection-Request")
		})
	}
}

func TestSecondStartCloses(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, call, _ := x.established(1)

	rep, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	if rep.ResultCode != pptp.StartChannelExists {
		t.Fatalf("second Start-Control-Connection-Reply: %v", rep.ResultCode)
	}
	closed(t, c)
	x.expectEnded(call, "second Start-Control-Connection-Request")
}

// Version 1.0 is the only PPTP there is. Below it: refused and closed.
// Above it: answered with 1.0 (RFC 2637 section 3.1.1 lets the
// originator fall back).
func TestProtocolVersion(t *testing.T) {
	for _, tc := range []struct {
		version uint16
		result  pptp.StartControlConnectionResult
	}{
		{0x0000, pptp.StartBadProtocolVersion},
		{0x00FF, pptp.StartBadProtocolVersion},
		{0x0100, pptp.StartSuccess},
		{0x0101, pptp.StartSuccess},
		{0x0200, pptp.StartSuccess},
	} {
		t.Run(pptp.StartControlConnectionResult(tc.result).String(), func(t *testing.T) {
			x := newHarness(t, control.Config{})
			c := x.dial()
			rep, err := c.StartVersion(tc.version)
			if err != nil {
				t.Fatal(err)
			}
			if rep.ResultCode != tc.result || rep.ProtocolVersion != pptp.ProtocolVersion {
				t.Fatalf("version %#04x: reply %v, version %#04x", tc.version, rep.ResultCode, rep.ProtocolVersion)
			}
			if tc.result != pptp.StartSuccess {
				closed(t, c)
				x.mustLog("control connection closed", "cause", "this server speaks 1.0 only")
				return
			}
			x.call(c, 1)
		})
	}
}

// Close sends Stop-Control-Connection-Request (Stop-Local-Shutdown) on
// every established connection, waits for the replies, but not for
// ever, and closes the rest.
func TestCloseStopsEveryConnection(t *testing.T) {
	const stopTimeout = 300 * time.Millisecond
	x := newHarness(t, control.Config{StopTimeout: stopTimeout})
	a, callA, _ := x.established(1)
	b, callB, _ := x.established(2)
	silent := x.dial()
	x.start(silent)
	rude, callRude, _ := x.established(3) // hangs up instead of replying
	idle := x.dial()
	time.Sleep(20 * time.Millisecond) // let idle's connection be accepted

	done := make(chan time.Duration)
	start := time.Now()
	go func() {
		x.s.Close()
		done <- time.Since(start)
	}()

	for _, c := range []*controltest.Client{a, b} {
		req, err := controltest.Expect[*pptp.StopControlConnectionRequest](c, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if req.Reason != pptp.StopLocalShutdown {
			t.Fatalf("Stop-Control-Connection-Request reason %v", req.Reason)
		}
		if err := c.Send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK}); err != nil {
			t.Fatal(err)
		}
		closed(t, c)
	}
	if _, err := controltest.Expect[*pptp.StopControlConnectionRequest](rude, time.Second); err != nil {
		t.Fatal(err)
	}
	rude.Close()
	if _, err := controltest.Expect[*pptp.StopControlConnectionRequest](silent, time.Second); err != nil {
		t.Fatal(err)
	}
	closed(t, silent) // after StopTimeout, unanswered
	closed(t, idle)   // at once: there is no control connection to stop

	select {
	case d := <-done:
		if d < stopTimeout || d > stopTimeout+20*time.Second { // generous: CI shares two cores
			t.Fatalf("Close took %v, want about StopTimeout (%v)", d, stopTimeout)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return")
	}

	ended := map[*control.Call]string{}
	for range 3 {
		e, err := x.h.Expect(controltest.CallEnded, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		ended[e.Call] = e.Cause
	}
	if ended[callA] != "local shutdown" || ended[callB] != "local shutdown" || ended[callRude] != "local shutdown" {
		t.Fatalf("CallEnded causes %v", ended)
	}
	r := x.mustLog("control connection closed", "client", rude.Conn().LocalAddr().String())
	if r.Attrs["cause"] != "local shutdown" {
		t.Fatalf("a client that hung up on our Stop-Control-Connection-Request: %v", r)
	}
	if x.s.Calls() != 0 {
		t.Fatalf("Calls() = %d after Close", x.s.Calls())
	}

	// A closed server accepts nothing more.
	if c, err := controltest.Dial(x.addr); err == nil {
		c.Close()
		t.Fatal("the listener is still open after Close")
	}
}
