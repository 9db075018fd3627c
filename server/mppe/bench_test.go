package mppe_test

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

// The MPPE part of a GRE+PPP+MPPE packet: a 1400-octet datagram (PPP
// protocol field and information), 128-bit keys. Stateless mode changes
// keys on every packet; stateful mode every 256th.
//
//	go test -run '^$' -bench 1400 -benchmem ./server/mppe/

func BenchmarkEncrypt1400(b *testing.B) {
	for _, m := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		b.Run(m.name, func(b *testing.B) {
			enc, _ := newPair(b, testKey, 128, m.stateless)
			// In place: the datagram behind 2 octets of headroom.
			buf := make([]byte, mppe.HeaderLen+1400, 2048)
			copy(buf[mppe.HeaderLen:], datagram(0, 1400))
			b.SetBytes(1400)
			b.ReportAllocs()
			for b.Loop() {
				enc.Encrypt(buf[:0], buf[mppe.HeaderLen:])
			}
		})
	}
}

func BenchmarkDecrypt1400(b *testing.B) {
	for _, m := range []struct {
		name      string
		stateless bool
	}{{"stateless", true}, {"stateful", false}} {
		b.Run(m.name, func(b *testing.B) {
			_, dec := newPair(b, testKey, 128, m.stateless)
			packet := make([]byte, mppe.HeaderLen+1400)
			b.SetBytes(1400)
			b.ReportAllocs()
			var cc uint16
			for b.Loop() {
				// The header of the next packet in sequence, as the
				// sender sets it; MPPE has no integrity check, so the
				// content does not matter and the work is the same.
				h := mppe.FlagEncrypted | mppe.Header(cc)
				if m.stateless || cc&0xFF == 0xFF {
					h |= mppe.FlagFlushed
				}
				h.Append(packet[:0])
				// In place: the datagram moves to the front.
				if _, err := dec.Decrypt(packet[:0], packet); err != nil {
					b.Fatal(err)
				}
				cc = (cc + 1) % mppe.CoherencyCountSpace
			}
		})
	}
}
