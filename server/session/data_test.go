package session

import (
	"bytes"
	"context"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// discardLink counts frames and keeps the last one.
type discardLink struct {
	n    int
	last []byte
}

func (l *discardLink) SendPPP(frame []byte) error {
	l.n++
	l.last = append(l.last[:0], frame...)
	return nil
}

// dataSession returns a session whose data path is open with 128-bit
// stateless MPPE, and the client's Encrypter and Decrypter for it.
func dataSession(tb testing.TB, deliver func([]byte)) (*Session, *discardLink, *mppe.Encrypter, *mppe.Decrypter) {
	return dataSessionMode(tb, deliver, true)
}

// dataSessionMode is dataSession in stateless or stateful MPPE.
func dataSessionMode(tb testing.TB, deliver func([]byte), stateless bool) (*Session, *discardLink, *mppe.Encrypter, *mppe.Decrypter) {
	tb.Helper()
	send := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	recv := [16]byte{16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	link := &discardLink{}
	s := New(testConfig(tb, &pool{}), link, deliver)
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	var err error
	s.data.enc, err = mppe.NewEncrypter(send, 128, stateless)
	must(err)
	s.data.dec, err = mppe.NewDecrypter(recv, 128, stateless)
	must(err)
	s.data.open, s.data.stateless, s.data.acfc, s.data.pfc = true, stateless, true, true
	cenc, err := mppe.NewEncrypter(recv, 128, stateless)
	must(err)
	cdec, err := mppe.NewDecrypter(send, 128, stateless)
	must(err)
	return s, link, cenc, cdec
}

// clientFrame encrypts ip as the client does, into buf.
func clientFrame(buf []byte, enc *mppe.Encrypter, ip []byte) []byte {
	buf = append(buf[:0], byte(ppp.ProtoCompressedDatagram), 0, 0, 0x00, 0x21)
	buf = append(buf, ip...)
	pkt := enc.Encrypt(buf[1:1], buf[3:])
	return buf[:1+len(pkt)]
}

func TestDataPathRoundTrip(t *testing.T) {
	var got []byte
	s, link, cenc, cdec := dataSession(t, func(ip []byte) { got = append(got[:0], ip...) })
	ip := ipPacket(1400, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2})
	s.SendIP(ip)
	proto, info, err := ppp.ParseFrame(link.last)
	if err != nil || proto != ppp.ProtoCompressedDatagram {
		t.Fatalf("frame %x: %v %v", link.last[:8], proto, err)
	}
	pt, err := cdec.Decrypt(nil, info)
	if err != nil || !bytes.Equal(pt[2:], ip) || pt[1] != 0x21 {
		t.Fatalf("client decrypt: %v", err)
	}
	s.ReceivePPP(clientFrame(nil, cenc, ip))
	if !bytes.Equal(got, ip) {
		t.Fatal("server delivered a different packet")
	}
	// A non-IP protocol inside MPPE is dropped and counted.
	buf := append([]byte{byte(ppp.ProtoCompressedDatagram), 0, 0, 0x80, 0x21}, 1, 2, 3)
	pkt := cenc.Encrypt(buf[1:1], buf[3:])
	s.ReceivePPP(buf[:1+len(pkt)])
	if i := s.Info(); i.DroppedProtocol != 1 || i.PacketsIn != 1 {
		t.Fatalf("info %+v", i)
	}
}

func TestDataPathAllocs(t *testing.T) {
	s, _, cenc, _ := dataSession(t, func([]byte) {})
	ip := ipPacket(1400, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2})
	if n := testing.AllocsPerRun(100, func() { s.SendIP(ip) }); n != 0 {
		t.Errorf("SendIP allocates %v times per packet", n)
	}
	frames := make([][]byte, 101)
	for i := range frames {
		frames[i] = clientFrame(make([]byte, 0, 1500), cenc, ip)
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() { s.ReceivePPP(frames[i]); i++ }); n != 0 {
		t.Errorf("ReceivePPP allocates %v times per packet", n)
	}
	if got := s.Info().PacketsIn; got != 101 {
		t.Errorf("delivered %d packets, want 101", got)
	}
}

func BenchmarkSendIP1400(b *testing.B) {
	s, _, _, _ := dataSession(b, func([]byte) {})
	ip := ipPacket(1400, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2})
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	for b.Loop() {
		s.SendIP(ip)
	}
}

// BenchmarkReceivePPP1400 decrypts and delivers frames the client
// encrypted in batches outside the timer.
func BenchmarkReceivePPP1400(b *testing.B) {
	s, _, cenc, _ := dataSession(b, func([]byte) {})
	ip := ipPacket(1400, [4]byte{10, 8, 0, 2}, [4]byte{8, 8, 8, 8})
	const batch = 1024
	frames := make([][]byte, batch)
	for i := range frames {
		frames[i] = make([]byte, 0, 1500)
	}
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			frames[i] = clientFrame(frames[i], cenc, ip)
		}
		b.StartTimer()
		for i := range n {
			s.ReceivePPP(frames[i])
		}
		done += n
	}
}

// With MPPE neither required nor negotiated (pptp.mppe.required off and a
// client that asks for none), IP goes in the clear both ways; with MPPE
// required, nothing goes in the clear.
func TestDataPathClear(t *testing.T) {
	var got []byte
	s, link, _, _ := dataSession(t, func(ip []byte) { got = append(got[:0], ip...) })
	s.data.enc, s.data.dec, s.data.required = nil, nil, false
	ip := ipPacket(100, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2})
	s.SendIP(ip)
	proto, info, err := ppp.ParseFrame(link.last)
	if err != nil || proto != ppp.ProtoIP || !bytes.Equal(info, ip) {
		t.Fatalf("clear frame %x: %v %v", link.last, proto, err)
	}
	s.ReceivePPP(append([]byte{0x21}, ip...))
	if !bytes.Equal(got, ip) {
		t.Fatal("server did not deliver the clear packet")
	}

	s.data.required = true
	link.n = 0
	s.SendIP(ip)
	s.ReceivePPP(append([]byte{0x21}, ip...))
	if i := s.Info(); link.n != 0 || i.DroppedPlainIP != 1 || i.DroppedNotReady != 1 {
		t.Fatalf("MPPE required: sent %d frames, info %+v", link.n, i)
	}
}

// A data packet that comes before the session goroutine has opened the
// data path (the client sends right after the Configure-Ack that completes
// IPCP or CCP, which still waits in the control queue) is queued behind
// that Ack rather than dropped, and delivered once the data path is open.
func TestDataBeforeOpenIsQueued(t *testing.T) {
	var got []byte
	s, _, cenc, _ := dataSession(t, func(ip []byte) { got = append(got[:0], ip...) })
	s.data.Lock()
	s.data.open = false
	s.data.Unlock()
	ip := ipPacket(200, [4]byte{10, 8, 0, 2}, [4]byte{8, 8, 8, 8})
	s.ReceivePPP(clientFrame(nil, cenc, ip))
	if i := s.Info(); i.DroppedNotReady != 0 || i.PacketsIn != 0 || len(s.control) != 1 {
		t.Fatalf("before open: info %+v, %d queued", i, len(s.control))
	}
	s.data.Lock()
	s.data.open = true
	s.data.Unlock()
	fb := <-s.control
	s.receiveControl(context.Background(), fb.b[:fb.n])
	if !bytes.Equal(got, ip) || s.Info().PacketsIn != 1 {
		t.Fatalf("the queued packet was not delivered: info %+v", s.Info())
	}
}
