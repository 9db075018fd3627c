package pptpload

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/pptp"
	"golang.org/x/sys/unix"
)

func TestWindowReport(t *testing.T) {
	up := &windowCounts{sent: [windows]uint64{1000, 200, 1000}, received: [windows]uint64{1000, 150, 1001}}
	secs := [windows]float64{5, 0.5, 5}
	ws := windowReport(up, nil, secs, 1400)
	if len(ws) != 3 || ws[0].Name != "before" || ws[1].Name != "during" || ws[2].Name != "after" {
		t.Fatalf("windows %+v", ws)
	}
	for _, w := range ws {
		if w.Down != nil {
			t.Errorf("%s: a down flow that was not sent: %+v", w.Name, w.Down)
		}
	}
	if f := ws[1].Up; f.Sent != 200 || f.Received != 150 || f.Dropped != 50 || f.LossPercent() != 25 || f.PPS != 300 {
		t.Errorf("during: %+v, loss %v%%", f, f.LossPercent())
	}
	// More received than sent (a duplicate): no loss, not a negative one.
	if f := ws[2].Up; f.Dropped != 0 || f.LossPercent() != 0 {
		t.Errorf("after: %+v, loss %v%%", f, f.LossPercent())
	}
	var none *Flow
	if none.LossPercent() != 0 || (&Flow{}).LossPercent() != 0 {
		t.Error("the loss of nothing sent is not 0")
	}
}

func TestRefusedReason(t *testing.T) {
	for _, tc := range []struct {
		r    pptp.OutgoingCallReply
		want string
	}{
		{pptp.OutgoingCallReply{ResultCode: pptp.OutgoingGeneralError, ErrorCode: pptp.GeneralErrorNoResource}, "call-refused: General Error, No-Resource"},
		{pptp.OutgoingCallReply{ResultCode: pptp.OutgoingDoNotAccept}, "call-refused: Do Not Accept"},
		{pptp.OutgoingCallReply{ResultCode: pptp.OutgoingBusy}, "call-refused: Busy"},
	} {
		if got := RefusedReason(&tc.r); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestStormReportText(t *testing.T) {
	secs := [windows]float64{5, 2, 5}
	c := &windowCounts{sent: [windows]uint64{100, 40, 100}, received: [windows]uint64{100, 30, 100}}
	r := &Report{Mode: "pptp", Established: 50, Failures: map[string]int{}, Storm: &StormReport{
		Sessions: 5000, Sources: 4, CallsPerConn: 10, Succeeded: 1950, Seconds: 2,
		Failures:         map[string]int{"call-refused: General Error, No-Resource": 3040, "setup-timeout": 10},
		Windows:          windowReport(c, c, secs, 1400),
		EstablishedAlive: 50, StormAlive: 1950,
		ServerBefore: &ServerStats{RSSBytes: 40 << 20, Goroutines: 150, Sessions: 50},
		ServerAfter:  &ServerStats{RSSBytes: 200 << 20, Goroutines: 4000, Sessions: 2000}, PeakServerSessions: 2000,
	}}
	if n := r.Storm.FailureCount(); n != 3050 {
		t.Errorf("FailureCount %d, want 3050", n)
	}
	var b strings.Builder
	r.WriteText(&b)
	for _, want := range []string{
		"storm: 5000 set-ups at once from 4 source addresses, 10 calls per control connection: 1950 succeeded, 3050 failed, in 2.00s",
		"storm failures: call-refused: General Error, No-Resource 3040, setup-timeout 10",
		"during   2.0s: up sent 40, lost 10 (25.00%); down sent 40, lost 10 (25.00%);",
		"alive at the end: 50 of 50 established sessions, 1950 of 1950 storm sessions; this tool's GRE send errors 0",
		"after: RSS 200.0 MiB, 4000 goroutines, 2000 sessions; peak 2000 sessions",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}

// TestWindowMarks follows a datagram's window mark from the sender's
// fill (as the storm's up sender writes it, with no allocation) through
// MPPE to the receiving session's count by window, and through a Sink.
func TestWindowMarks(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	key := [16]byte{7}
	tx := newSession(&GRESocket{fd: fds[0]}, 5, SessionOptions{User: "u", Password: "p"})
	tx.mu.enc, _ = mppe.NewEncrypter(key, 128, true)
	tx.mu.addr, tx.mu.peer = netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	rx := newSession(&GRESocket{}, 6, SessionOptions{User: "u", Password: "p"})
	rx.mu.dec, _ = mppe.NewDecrypter(key, 128, true)
	rx.mu.started = true

	buf := make([]byte, 2048)
	target := netip.MustParseAddr("10.0.0.1")
	send := func(w byte) {
		tx.SendIP(1400, func(ip []byte, local, _ netip.Addr, id uint16) {
			PutUDP(ip, local, target, 5001, id)
			ip[ipv4HeaderLen+udpHeaderLen] = w
		})
	}
	allocs := testing.AllocsPerRun(50, func() {
		send(windowDuring)
		if _, err := unix.Read(fds[1], buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a marked packet: %v allocations, want 0", allocs)
	}
	for _, w := range []byte{windowBefore, windowAfter, windowAfter, 9} {
		send(w)
		n, err := unix.Read(fds[1], buf)
		if err != nil {
			t.Fatal(err)
		}
		h, frame, err := gre.Parse(buf[:n])
		if err != nil {
			t.Fatal(err)
		}
		rx.receive(h, frame)
	}
	if got := [windows]uint64{rx.RxUDPBy[0].Load(), rx.RxUDPBy[1].Load(), rx.RxUDPBy[2].Load()}; got != [windows]uint64{1, 0, 2} || rx.RxUDP.Load() != 4 {
		t.Errorf("received by window %v, %d in all; want [1 0 2], 4 (a mark out of range counts in all only)", got, rx.RxUDP.Load())
	}

	sink, err := ListenSink(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	c, err := net.DialUDP("udp4", nil, sink.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, w := range []byte{windowDuring, windowDuring, windowAfter, 200} {
		if _, err := c.Write([]byte{w, 0, 0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); sink.Received.Load() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := [windows]uint64{sink.ReceivedBy[0].Load(), sink.ReceivedBy[1].Load(), sink.ReceivedBy[2].Load()}; got != [windows]uint64{0, 2, 1} || sink.Received.Load() != 4 {
		t.Errorf("sink received by window %v, %d in all; want [0 2 1], 4", got, sink.Received.Load())
	}
}
