package mppe_test

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

// TestAllocs pins Encrypt and Decrypt of a 1400-octet datagram to zero
// allocations in steady state, in every configuration: 600 runs take the
// stateful ones across two flag packets (key changes), and stateless ones
// change keys on every packet.
func TestAllocs(t *testing.T) {
	const runs = 600
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, c.stateless)
			msg := datagram(0, 1400)

			buf := make([]byte, 0, 2048)
			var packets [][]byte
			if n := testing.AllocsPerRun(runs, func() {
				buf = enc.Encrypt(buf[:0], msg)
			}); n != 0 {
				t.Errorf("Encrypt: %v allocations, want 0", n)
			}
			// The same packets again, kept for Decrypt; AllocsPerRun
			// calls its function runs+1 times.
			enc, _ = newPair(t, testKey, c.bits, c.stateless)
			for range runs + 1 {
				packets = append(packets, enc.Encrypt(nil, msg))
			}
			out := make([]byte, 0, 2048)
			next := 0
			if n := testing.AllocsPerRun(runs, func() {
				var err error
				out, err = dec.Decrypt(out[:0], packets[next])
				if err != nil {
					t.Fatal(err)
				}
				next++
			}); n != 0 {
				t.Errorf("Decrypt: %v allocations, want 0", n)
			}
		})
	}
}

// TestAllocsResync: losses, refusals, Reset-Requests and resynchronisation
// allocate nothing either, so a lossy link costs no garbage.
func TestAllocsResync(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, c.stateless)
			msg := datagram(0, 1400)
			pkt := make([]byte, 0, 2048)
			out := make([]byte, 0, 2048)
			i := 0
			if n := testing.AllocsPerRun(300, func() {
				i++
				pkt = enc.Encrypt(pkt[:0], msg)
				switch i % 4 {
				case 0: // lost
					return
				case 1: // tampered, then the real one
					pkt[0] &^= 0x10
					if _, err := dec.Decrypt(out[:0], pkt); err != mppe.ErrNotEncrypted {
						t.Fatal(err)
					}
					pkt[0] |= 0x10
				}
				_, err := dec.Decrypt(out[:0], pkt)
				switch err {
				case nil:
				case mppe.ErrNeedReset:
					enc.ResetRequest()
				default:
					t.Fatal(err)
				}
				if _, err := dec.Decrypt(out[:0], pkt); err != mppe.ErrLate { // duplicate
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%v allocations, want 0", n)
			}
		})
	}
}
