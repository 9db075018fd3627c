package pptpload

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"golang.org/x/sys/unix"
)

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 down to 1: sorting is the function's job
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		want Percentiles
	}{
		{"none", nil, Percentiles{}},
		{"one", ms(7), Percentiles{7, 7, 7, 7}},
		{"two", ms(20, 10), Percentiles{10, 20, 20, 20}},
		{"ten", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), Percentiles{5, 9, 10, 10}},
		{"hundred", ms(hundred...), Percentiles{50, 90, 99, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PercentilesOf(tc.in); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPacer(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t.Run("rate", func(t *testing.T) {
		p := NewPacer(100, t0, 1000)
		total := 0
		for ms := 0; ms <= 2000; ms += 7 {
			total += p.Due(t0.Add(time.Duration(ms) * time.Millisecond))
		}
		// 2.0 s at 100/s: 200 owed by the last look at 1.995 s (199).
		if total != 199 {
			t.Errorf("%d events in 1.995 s at 100/s, want 199", total)
		}
	})
	t.Run("burst bounds a late sender", func(t *testing.T) {
		p := NewPacer(1000, t0, 64)
		if n := p.Due(t0.Add(time.Second)); n != 64 {
			t.Errorf("first batch %d, want the burst 64", n)
		}
		if n := p.Due(t0.Add(time.Second)); n != 64 {
			t.Errorf("second batch %d, want 64 more (it catches up)", n)
		}
	})
	t.Run("wait", func(t *testing.T) {
		p := NewPacer(10, t0, 1)
		if d := p.Wait(t0); d != 100*time.Millisecond {
			t.Errorf("wait %v at the start, want 100ms", d)
		}
		if n := p.Due(t0.Add(150 * time.Millisecond)); n != 1 {
			t.Errorf("due %d at 150ms, want 1", n)
		}
		if d := p.Wait(t0.Add(150 * time.Millisecond)); d != 50*time.Millisecond {
			t.Errorf("wait %v at 150ms, want 50ms", d)
		}
	})
	t.Run("unpaced", func(t *testing.T) {
		p := NewPacer(0, t0, 16)
		if n, d := p.Due(t0), p.Wait(t0); n != 16 || d != 0 {
			t.Errorf("due %d wait %v, want 16 and 0", n, d)
		}
	})
}

func TestNewFlow(t *testing.T) {
	f := NewFlow(1000, 900, 1400, 2)
	if f.Dropped != 100 || f.PPS != 450 || f.Mbps != 450*1400*8/1e6 {
		t.Errorf("%+v", f)
	}
	if f := NewFlow(5, 7, 100, 1); f.Dropped != 0 {
		t.Errorf("more received than sent: dropped %d, want 0", f.Dropped)
	}
}

func TestPackets(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	ip := make([]byte, 1400)
	PutUDP(ip, src, dst, 5001, 9)
	if checksum(ip[:20], 0) != 0 {
		t.Error("UDP packet: IPv4 header checksum does not verify")
	}
	if k := classify(ip); k != kindUDP {
		t.Errorf("UDP packet classified %d", k)
	}
	PutEchoRequest(ip, src, dst, 1, 2)
	if checksum(ip[:20], 0) != 0 || checksum(ip[20:], 0) != 0 {
		t.Error("Echo Request: a checksum does not verify")
	}
	if k := classify(ip); k != kindOther {
		t.Errorf("Echo Request classified %d, want other", k)
	}
	ip[20] = 0 // Echo Reply
	if k := classify(ip); k != kindEchoReply {
		t.Errorf("Echo Reply classified %d", k)
	}
	if k := classify(ip[:10]); k != kindOther {
		t.Errorf("short packet classified %d", k)
	}
}

// TestSendIPAllocations pins the data path: a packet built, encrypted
// and framed in the session's buffer, written to the socket, with no
// allocation. A datagram socket pair stands in for the raw GRE socket.
func TestSendIPAllocations(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	g := &GRESocket{fd: fds[0]}
	defer unix.Close(fds[0])
	s := newSession(g, 5, SessionOptions{User: "u", Password: "p"})
	s.PeerCallID = 9
	enc, _ := mppe.NewEncrypter([16]byte{1}, 128, true)
	dec, _ := mppe.NewDecrypter([16]byte{1}, 128, true)
	s.mu.enc = enc
	s.mu.addr, s.mu.peer = netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	fill := func(ip []byte, local, peer netip.Addr, id uint16) { PutUDP(ip, local, peer, 5001, id) }
	buf := make([]byte, 2048)
	allocs := testing.AllocsPerRun(100, func() {
		if !s.SendIP(1400, fill) {
			t.Fatal("SendIP refused")
		}
		if _, err := unix.Read(fds[1], buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("SendIP: %v allocations per packet, want 0", allocs)
	}

	// The packet on the wire: GRE to call 9, PPP 0x00fd, MPPE that
	// decrypts to the UDP datagram.
	s.SendIP(1400, fill)
	n, err := unix.Read(fds[1], buf)
	if err != nil {
		t.Fatal(err)
	}
	h, frame, err := gre.Parse(buf[:n])
	if err != nil || h.CallID != 9 || !h.SequencePresent {
		t.Fatalf("GRE %+v %v", h, err)
	}
	proto, info, err := ppp.ParseFrame(frame)
	if err != nil || proto != ppp.ProtoCompressedDatagram {
		t.Fatalf("PPP protocol %v %v", proto, err)
	}
	if len(info) != 2+2+1400 {
		t.Errorf("MPPE packet of %d octets, want 1404", len(info))
	}
	pt, err := dec.Decrypt(nil, info) // stateless: it catches up with the count
	if err != nil || len(pt) != 1402 || pt[1] != 0x21 || classify(pt[2:]) != kindUDP {
		t.Errorf("decrypted %d octets %x, err %v; want the UDP datagram", len(pt), pt[:min(len(pt), 4)], err)
	}
}

// TestServerCPU reads this process's own CPU time, and the per-packet
// figures follow from it.
func TestServerCPU(t *testing.T) {
	before, err := ServerCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for x, deadline := 0, time.Now().Add(50*time.Millisecond); time.Now().Before(deadline); x++ {
		_ = x * x
	}
	after, err := ServerCPU(os.Getpid())
	if err != nil || after < before {
		t.Fatalf("CPU %v then %v, %v", before, after, err)
	}
	tr := &TrafficReport{Up: &Flow{Received: 30_000}, Down: &Flow{Received: 10_000}}
	tr.setServerCPU(0.5)
	if tr.ServerCPUPerPacket != 12.5 || tr.ServerPPSPerCore != 80_000 {
		t.Errorf("0.5 s for 40,000 packets: %.1f µs a packet, %.0f a core; want 12.5 and 80000", tr.ServerCPUPerPacket, tr.ServerPPSPerCore)
	}
	if _, err := ServerCPU(-1); err == nil {
		t.Error("no error for pid -1")
	}
}
