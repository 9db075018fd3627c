package control_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control"
	"github.com/gatehouse-vpn/gatehouse/server/control/controltest"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// A Linux or Windows client's whole life: start, call, Set-Link-Info,
// Call-Clear-Request, Stop-Control-Connection-Request.
func TestCallSetUpAndClearedByClient(t *testing.T) {
	x := newHarness(t, control.Config{HostName: "vpn.example", Vendor: "Gatehouse test"})
	c := x.dial()

	sccrp, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	want := pptp.StartControlConnectionReply{
		ProtocolVersion:     pptp.ProtocolVersion,
		ResultCode:          pptp.StartSuccess,
		FramingCapabilities: pptp.FramingAsynchronous | pptp.FramingSynchronous,
		BearerCapabilities:  pptp.BearerAnalog | pptp.BearerDigital,
		MaximumChannels:     control.DefaultMaxCalls,
		FirmwareRevision:    1,
		HostName:            "vpn.example",
		VendorString:        "Gatehouse test",
	}
	if *sccrp != want {
		t.Fatalf("Start-Control-Connection-Reply\n got %+v\nwant %+v", *sccrp, want)
	}

	ocrp, call := x.call(c, 0x1234)
	if ocrp.CallID == 0 || ocrp.PeerCallID != 0x1234 || ocrp.PacketRecvWindowSize != control.DefaultRecvWindow ||
		ocrp.ConnectSpeed != 10_000_000 || ocrp.ErrorCode != pptp.GeneralErrorNone {
		t.Fatalf("Outgoing-Call-Reply %+v", *ocrp)
	}
	loopback := netip.MustParseAddr("127.0.0.1")
	if call.Peer != loopback || call.Local != loopback || call.Serial != 0x1234 || call.PeerRecvWindow != 10 ||
		call.RecvWindow != control.DefaultRecvWindow || call.MaximumBPS != 10_000_000 {
		t.Fatalf("Call %+v", *call)
	}
	if n := x.s.Calls(); n != 1 {
		t.Fatalf("Calls() = %d, want 1", n)
	}

	// Set-Link-Info names the call by the server's Call ID.
	if err := c.Send(&pptp.SetLinkInfo{PeerCallID: ocrp.CallID, SendACCM: 0, ReceiveACCM: 0xFFFFFFFF}); err != nil {
		t.Fatal(err)
	}
	e, err := x.h.Expect(controltest.LinkInfo, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if e.Call != call || e.SendACCM != 0 || e.ReceiveACCM != 0xFFFFFFFF {
		t.Fatalf("LinkInfo %+v", e)
	}

	// Call-Clear-Request names it by the client's, the reply by ours.
	cdn, err := c.Clear(0x1234)
	if err != nil {
		t.Fatal(err)
	}
	if cdn.CallID != ocrp.CallID || cdn.ResultCode != pptp.DisconnectRequest {
		t.Fatalf("Call-Disconnect-Notify %+v", *cdn)
	}
	x.expectEnded(call, "the client cleared the call (Call-Clear-Request)")
	if n := x.s.Calls(); n != 0 {
		t.Fatalf("Calls() = %d after the clear, want 0", n)
	}

	stop, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if stop.ResultCode != pptp.StopOK {
		t.Fatalf("Stop-Control-Connection-Reply %+v", *stop)
	}
	closed(t, c)
	x.noMoreEvents()
	x.mustLog("control connection closed", "cause", "the client stopped the control connection")
	x.mustLog("call set up", "call_id", fmt.Sprint(ocrp.CallID))

	if st := x.s.Stats(); st.Connections != 1 || st.Calls != 1 || st.CallsRefused != 0 || st.Malformed != 0 {
		t.Fatalf("Stats %+v", st)
	}
}

func TestDisconnectFromServer(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, call, ocrp := x.established(7)

	call.Disconnect("idle timeout: no traffic for 30m")
	call.Disconnect("twice") // the call is gone by the time this is served
	cdn, err := controltest.Expect[*pptp.CallDisconnectNotify](c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cdn.CallID != ocrp.CallID || cdn.ResultCode != pptp.DisconnectAdminShutdown {
		t.Fatalf("Call-Disconnect-Notify %+v", *cdn)
	}
	x.expectEnded(call, "idle timeout: no traffic for 30m")

	// The client stops the connection, as Linux's pptp does after a CDN;
	// the next message it gets is the reply, not a second CDN.
	stop, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if stop.ResultCode != pptp.StopOK {
		t.Fatalf("Stop-Control-Connection-Reply %+v", *stop)
	}
	closed(t, c)
	x.noMoreEvents()

	// A Disconnect after the connection is gone does nothing.
	call.Disconnect("late")
	call.WANErrorNotify(control.WANErrors{CRCErrors: 1})
}

// TestHangup: an operator's hang-up of a connection's last call sends the
// Call-Disconnect-Notify, then clears the control connection with a
// Stop-Control-Connection-Request (reason General); the client's reply
// closes it. With another call left, only the call ends.
func TestHangup(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, first, ocrp := x.established(7)
	second, secondCall := x.call(c, 8)

	first.Hangup("killed by the operator: test")
	cdn, err := controltest.Expect[*pptp.CallDisconnectNotify](c, time.Second)
	if err != nil || cdn.CallID != ocrp.CallID || cdn.ResultCode != pptp.DisconnectAdminShutdown {
		t.Fatalf("Call-Disconnect-Notify %+v %v", cdn, err)
	}
	x.expectEnded(first, "killed by the operator: test")
	if m, err := c.Next(200 * time.Millisecond); err == nil {
		t.Fatalf("with a call left the server sent %s", m.ControlMessageType())
	}

	secondCall.Hangup("killed by the operator: the last")
	cdn, err = controltest.Expect[*pptp.CallDisconnectNotify](c, time.Second)
	if err != nil || cdn.CallID != second.CallID {
		t.Fatalf("Call-Disconnect-Notify %+v %v", cdn, err)
	}
	x.expectEnded(secondCall, "killed by the operator: the last")
	stop, err := controltest.Expect[*pptp.StopControlConnectionRequest](c, time.Second)
	if err != nil || stop.Reason != pptp.StopNone {
		t.Fatalf("Stop-Control-Connection-Request %+v %v", stop, err)
	}
	if err := c.Send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK}); err != nil {
		t.Fatal(err)
	}
	closed(t, c)
	x.noMoreEvents()
}

func TestWANErrorNotify(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, call, _ := x.established(0xBEEF)

	call.WANErrorNotify(control.WANErrors{CRCErrors: 3, TimeoutErrors: 7, BufferOverruns: 1})
	wen, err := controltest.Expect[*pptp.WANErrorNotify](c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := pptp.WANErrorNotify{PeerCallID: 0xBEEF, CRCErrors: 3, TimeoutErrors: 7, BufferOverruns: 1}
	if *wen != want {
		t.Fatalf("WAN-Error-Notify %+v, want %+v", *wen, want)
	}
}

func TestStopFromClientEndsCalls(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, call, _ := x.established(1)

	stop, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if stop.ResultCode != pptp.StopOK {
		t.Fatalf("Stop-Control-Connection-Reply %+v", *stop)
	}
	x.expectEnded(call, "the client stopped the control connection (Stop-Control-Connection-Request, reason None)")
	closed(t, c)
}

func TestClientClosesTCP(t *testing.T) {
	x := newHarness(t, control.Config{})
	c, call, _ := x.established(1)

	c.Close()
	x.expectEnded(call, "control connection closed by the client")
	x.mustLog("control connection closed", "cause", "control connection closed by the client")
}

// Call IDs are unique across connections, never 0, and a freed one is
// not handed out again at once.
func TestCallIDsUniqueAcrossConnections(t *testing.T) {
	x := newHarness(t, control.Config{})
	seen := map[uint16]bool{}
	var clients []*controltest.Client
	var calls []*control.Call
	for i := range 5 {
		c, call, _ := x.established(1) // every client uses Call ID 1
		if call.ID == 0 || seen[call.ID] {
			t.Fatalf("connection %d got Call ID %d; seen %v", i, call.ID, seen)
		}
		seen[call.ID] = true
		clients, calls = append(clients, c), append(calls, call)
	}

	// Free one; the next calls do not get it back.
	freed := calls[2].ID
	if _, err := clients[2].Clear(1); err != nil {
		t.Fatal(err)
	}
	x.expectEnded(calls[2], "Call-Clear-Request")
	for range 3 {
		_, call := x.call(clients[2], 1)
		if call.ID == freed || call.ID == 0 {
			t.Fatalf("Call ID %d handed out again right after it was freed", call.ID)
		}
		if _, err := clients[2].Clear(1); err != nil {
			t.Fatal(err)
		}
		x.expectEnded(call, "Call-Clear-Request")
	}
}

// One control connection may carry several calls, each cleared by its own
// Call ID; the client's Call IDs must differ.
func TestSeveralCallsOnOneConnection(t *testing.T) {
	x := newHarness(t, control.Config{})
	c := x.dial()
	x.start(c)
	ocrp1, call1 := x.call(c, 10)
	ocrp2, call2 := x.call(c, 11)
	if ocrp1.CallID == ocrp2.CallID {
		t.Fatalf("two calls with Call ID %d", ocrp1.CallID)
	}

	dup, err := c.Call(10)
	if err != nil {
		t.Fatal(err)
	}
	if dup.ResultCode != pptp.OutgoingGeneralError || dup.ErrorCode != pptp.GeneralErrorBadCallID || dup.PeerCallID != 10 {
		t.Fatalf("Outgoing-Call-Reply for a Call ID in use: %+v", *dup)
	}
	x.mustLog("outgoing call refused", "reason", "already in use")

	cdn, err := c.Clear(11)
	if err != nil {
		t.Fatal(err)
	}
	if cdn.CallID != call2.ID {
		t.Fatalf("clearing the client's call 11 disconnected call %d, want %d", cdn.CallID, call2.ID)
	}
	x.expectEnded(call2, "Call-Clear-Request")

	if _, err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	x.expectEnded(call1, "Stop-Control-Connection-Request")
	closed(t, c)
}

// MaxCalls counts calls across connections; over it the client gets
// General Error, No-Resource (RFC 2637 section 2.16, code 4).
func TestConnectionLimit(t *testing.T) {
	x := newHarness(t, control.Config{MaxCalls: 2})
	a, callA, _ := x.established(1)
	x.established(1)

	c := x.dial()
	sccrp, err := c.Start()
	if err != nil {
		t.Fatal(err)
	}
	if sccrp.MaximumChannels != 2 {
		t.Fatalf("Maximum Channels %d, want 2", sccrp.MaximumChannels)
	}
	ocrp, err := c.Call(1)
	if err != nil {
		t.Fatal(err)
	}
	if ocrp.ResultCode != pptp.OutgoingGeneralError || ocrp.ErrorCode != pptp.GeneralErrorNoResource ||
		ocrp.CallID != 0 || ocrp.PeerCallID != 1 {
		t.Fatalf("Outgoing-Call-Reply over the limit: %+v", *ocrp)
	}
	r := x.mustLog("outgoing call refused", "reason", "connection limit reached: MaxCalls is 2")
	if r.Attrs["error_code"] != "No-Resource" {
		t.Fatalf("refusal logged as %v", r)
	}
	x.noMoreEvents()
	if st := x.s.Stats(); st.CallsRefused != 1 || st.Calls != 2 {
		t.Fatalf("Stats %+v", st)
	}

	// A place frees up; the same client may try again.
	if _, err := a.Clear(1); err != nil {
		t.Fatal(err)
	}
	x.expectEnded(callA, "Call-Clear-Request")
	x.call(c, 1)
	if n := x.s.Calls(); n != 2 {
		t.Fatalf("Calls() = %d, want 2", n)
	}
}

// The CallHandler's error chooses the refusal.
func TestHandlerRefusesCall(t *testing.T) {
	for _, tc := range []struct {
		err        error
		result     pptp.OutgoingCallResult
		errorCode  pptp.GeneralError
		reasonPart string
	}{
		{fmt.Errorf("address pool 10.8.0.0/24 exhausted: %w", control.ErrNoResource),
			pptp.OutgoingGeneralError, pptp.GeneralErrorNoResource, "address pool"},
		{control.ErrDoNotAccept, pptp.OutgoingDoNotAccept, pptp.GeneralErrorNone, "prohibited"},
		{errors.New("session store unavailable"), pptp.OutgoingGeneralError, pptp.GeneralErrorPACError, "session store"},
	} {
		t.Run(tc.reasonPart, func(t *testing.T) {
			h := controltest.NewHandler()
			h.Refuse = func(*control.Call) error { return tc.err }
			x := newHarnessWith(t, control.Config{}, h)
			c := x.dial()
			x.start(c)
			ocrp, err := c.Call(5)
			if err != nil {
				t.Fatal(err)
			}
			if ocrp.ResultCode != tc.result || ocrp.ErrorCode != tc.errorCode || ocrp.CallID != 0 {
				t.Fatalf("Outgoing-Call-Reply %+v, want %v/%v", *ocrp, tc.result, tc.errorCode)
			}
			x.mustLog("outgoing call refused", "reason", tc.reasonPart)
			if n := x.s.Calls(); n != 0 {
				t.Fatalf("Calls() = %d after a refusal", n)
			}
			x.noMoreEvents()
		})
	}
}

// A CallHandler may disconnect from inside its own callbacks without
// deadlocking the connection: Disconnect only queues the request.
func TestDisconnectInsideCallback(t *testing.T) {
	h := controltest.NewHandler()
	h.Refuse = func(c *control.Call) error {
		c.Disconnect("refused after the fact") // queued; served after the reply
		return nil
	}
	x := newHarnessWith(t, control.Config{}, h)
	c := x.dial()
	x.start(c)
	ocrp, call := x.call(c, 3)
	cdn, err := controltest.Expect[*pptp.CallDisconnectNotify](c, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if cdn.CallID != ocrp.CallID {
		t.Fatalf("Call-Disconnect-Notify for %d, want %d", cdn.CallID, ocrp.CallID)
	}
	x.expectEnded(call, "refused after the fact")
	if !strings.Contains(x.dumpLogs(), "call ended") {
		t.Fatal("no call ended line")
	}
}
