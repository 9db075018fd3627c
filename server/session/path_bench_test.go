package session

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
)

// The whole per-packet path of a PPTP session but the sockets, for a
// 1400-byte IP packet:
//
//	encrypt: IP packet -> MPPE -> PPP frame -> enhanced GRE header
//	         (what RoutineReadTUN and call.SendPPP do before sendto)
//	decrypt: GRE packet -> gre.Parse -> receive window -> PPP -> MPPE
//	         (what RoutineReadGRE does after recvfrom), up to deliver
//
// in stateless and stateful MPPE. Run with
//
//	go test -run '^$' -bench WholePath -benchmem ./server/session/

// greLink frames each PPP frame in GRE as call.SendPPP does.
type greLink struct {
	seq uint32
	buf []byte
}

func (l *greLink) SendPPP(frame []byte) error {
	h := gre.Header{CallID: 7, SequencePresent: true, SequenceNumber: l.seq, AcknowledgmentPresent: true, AcknowledgmentNumber: l.seq}
	l.seq++
	l.buf = gre.AppendPacket(l.buf[:0], h, frame)
	return nil
}

func benchWholeEncrypt(b *testing.B, stateless bool) {
	s, _, _, _ := dataSessionMode(b, func([]byte) {}, stateless)
	link := &greLink{buf: make([]byte, 0, 16+MaxFrame)}
	s.link = link
	ip := ipPacket(1400, [4]byte{8, 8, 8, 8}, [4]byte{10, 8, 0, 2})
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	for b.Loop() {
		s.SendIP(ip)
	}
	if len(link.buf) < len(ip) {
		b.Fatalf("no GRE packet built (%d bytes)", len(link.buf))
	}
}

func benchWholeDecrypt(b *testing.B, stateless bool) {
	delivered := 0
	s, _, cenc, _ := dataSessionMode(b, func([]byte) { delivered++ }, stateless)
	ip := ipPacket(1400, [4]byte{10, 8, 0, 2}, [4]byte{8, 8, 8, 8})
	var window gre.Window
	const batch = 1024
	pkts := make([][]byte, batch)
	frame := make([]byte, 0, MaxFrame)
	for i := range pkts {
		pkts[i] = make([]byte, 0, 16+MaxFrame)
	}
	seq := uint32(0)
	b.SetBytes(int64(len(ip)))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		n := min(batch, b.N-done)
		for i := range n {
			frame = clientFrame(frame, cenc, ip)
			pkts[i] = gre.AppendPacket(pkts[i][:0], gre.Header{CallID: 7, SequencePresent: true, SequenceNumber: seq}, frame)
			seq++
		}
		b.StartTimer()
		for i := range n {
			h, payload, err := gre.Parse(pkts[i])
			if err != nil {
				b.Fatal(err)
			}
			if v, _ := window.Admit(h.SequenceNumber); !v.Deliver() {
				b.Fatalf("window refused %d", h.SequenceNumber)
			}
			s.ReceivePPP(payload)
		}
		done += n
	}
	b.StopTimer()
	if delivered != b.N {
		b.Fatalf("delivered %d of %d", delivered, b.N)
	}
}

func BenchmarkWholePathEncryptStateless(b *testing.B) { benchWholeEncrypt(b, true) }
func BenchmarkWholePathEncryptStateful(b *testing.B)  { benchWholeEncrypt(b, false) }
func BenchmarkWholePathDecryptStateless(b *testing.B) { benchWholeDecrypt(b, true) }
func BenchmarkWholePathDecryptStateful(b *testing.B)  { benchWholeDecrypt(b, false) }
