package mppe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzDecrypt feeds a Decrypter two kinds of input, in one of the six
// configurations (mode % 3 picks 40, 56 or 128 bits, mode & 4 stateless):
//
//   - raw: arbitrary packets, each a length octet and that many octets.
//     Decrypt must not panic, must refuse with one of its errors or return
//     exactly the packet's length less the header, must leave dst alone
//     when it refuses, and must do bounded work: at most Window key
//     changes per packet in stateless mode, Window/256 in stateful mode.
//   - schedule: genuine packets from an Encrypter, delivered, lost, held
//     back and delivered late, duplicated or with bit D cleared, one
//     operation per octet. A model of RFC 3078 sections 8.1 and 8.2 says
//     what each delivery must give: the datagram itself, or which error.
//     A stateful ErrNeedReset is answered with ResetRequest, as CCP would.
//
// The schedule runs first, on a fresh pair; the raw packets then go to the
// same Decrypter. Work per packet is bounded by the package; work per
// input is bounded here, to keep executions fast: the first 1024
// operations and 64 raw packets count (a raw packet 2048 ahead costs 2048
// key changes, some milliseconds).
func FuzzDecrypt(f *testing.F) {
	const maxOps, maxRaw = 1024, 64
	f.Add(byte(6), []byte{0, 0, 3, 0, 4, 0, 5, 6, 0, 7, 0}, []byte("\x05\x90\x01\x00\x21\xAA"))
	f.Add(byte(2), []byte{0, 0x1B, 0, 0, 4, 0, 0, 5, 6, 7, 0, 0xFB, 0}, []byte("\x03\x1F\xFF\x00\x03\x9F\xFF\x00"))
	f.Fuzz(func(t *testing.T, mode byte, schedule, raw []byte) {
		bits := []int{40, 56, 128}[int(mode)%3]
		stateless := mode&4 != 0
		maxChanges := uint64(Window/256 + 1) // flag packets passed, and a flush
		if stateless {
			maxChanges = Window
		}
		key := [16]byte{mode, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B, 0xA1, 0x18, 0xCB, 0x15, 0x3F, 0x56, 0xDC, 0xCB}
		enc, err := NewEncrypter(key, bits, stateless)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecrypter(key, bits, stateless)
		if err != nil {
			t.Fatal(err)
		}

		decrypt := func(packet []byte) ([]byte, error) {
			t.Helper()
			before := dec.keys.changes
			dst := []byte("dst:")
			out, err := dec.Decrypt(dst, packet)
			if n := dec.keys.changes - before; n > maxChanges {
				t.Fatalf("%d key changes for one packet, want at most %d", n, maxChanges)
			}
			switch {
			case err == nil:
				if len(out) != 4+len(packet)-HeaderLen || string(out[:4]) != "dst:" {
					t.Fatalf("decrypted %d octets of a %d-octet packet to %q...", len(out), len(packet), out[:min(len(out), 8)])
				}
				return out[4:], nil
			case errors.Is(err, ErrShort), errors.Is(err, ErrNotEncrypted), errors.Is(err, ErrNotFlushed),
				errors.Is(err, ErrLate), errors.Is(err, ErrNeedReset):
				if string(out) != "dst:" {
					t.Fatalf("refused with %v, but dst became %q", err, out)
				}
				return nil, err
			default:
				t.Fatalf("unknown error %v", err)
				return nil, err
			}
		}

		// The schedule. The model's counts are true indexes, not
		// modulo 4096; once the decrypter's last packet and a delivered
		// one are too far apart for a 12-bit count, the model stops
		// predicting (the decrypter cannot know either) and only the
		// checks of decrypt remain.
		type sent struct {
			n      int
			packet []byte
			msg    []byte
		}
		next := 0 // true index of the next packet to encrypt
		send := func() sent {
			msg := binary.BigEndian.AppendUint32([]byte{0x00, 0x21}, uint32(next))
			msg = append(msg, bytes.Repeat([]byte{byte(next)}, next%40)...)
			s := sent{n: next, packet: enc.Encrypt(nil, msg), msg: msg}
			next++
			return s
		}
		last, waiting, modelled := -1, false, true
		var held, previous *sent
		// A stateful packet flushed by a reset carries a key change
		// (as in Linux's ppp_mppe; see the package documentation).
		// Once one never reaches the decrypter in order, the two ends
		// are a key apart, which no later packet tells the decrypter:
		// the model stops predicting, and only the checks of decrypt
		// remain, as after a gap too wide for the count.
		rekeys := func(s sent) bool {
			h, _ := ParseHeader(s.packet)
			return !stateless && h.Flushed() && !isFlagPacket(h.CoherencyCount())
		}
		deliver := func(s sent, tamperD bool) {
			packet := s.packet
			if tamperD {
				packet = bytes.Clone(packet)
				packet[0] &^= byte(FlagEncrypted >> 8)
			}
			got, err := decrypt(packet)
			if errors.Is(err, ErrNeedReset) {
				enc.ResetRequest()
			}
			d := s.n - last
			if d > Window || d <= -Window {
				modelled = false
			}
			if !modelled {
				return
			}
			h, _ := ParseHeader(s.packet)
			var want error
			switch {
			case tamperD:
				want = ErrNotEncrypted
			case d <= 0:
				want = ErrLate
			case stateless, h.Flushed():
				waiting = false
			case waiting || d != 1:
				waiting = true
				want = ErrNeedReset
			}
			if err != want {
				t.Fatalf("packet %d (%v) after %d: error %v, want %v", s.n, h, last, err, want)
			}
			if want == nil && !bytes.Equal(got, s.msg) {
				t.Fatalf("packet %d (%v) after %d: decrypted to % X, want % X", s.n, h, last, got, s.msg)
			}
			if want != nil && want != ErrNotEncrypted && rekeys(s) {
				modelled = false
			}
			if want == nil || want == ErrNeedReset {
				last = s.n
			}
		}
		for _, op := range schedule[:min(len(schedule), maxOps)] {
			switch op & 7 {
			case 0, 1, 2: // deliver the next packet
				s := send()
				deliver(s, false)
				previous = &s
			case 3: // lose 1 to 32 packets
				for range int(op>>3) + 1 {
					if rekeys(send()) {
						modelled = false
					}
				}
			case 4: // hold the next packet back
				s := send()
				held = &s
				if rekeys(s) {
					modelled = false
				}
			case 5: // deliver the held packet, late
				if held != nil {
					deliver(*held, false)
					held = nil
				}
			case 6: // deliver the last delivered packet again
				if previous != nil {
					deliver(*previous, false)
				}
			case 7: // deliver the next packet with bit D cleared, then as sent
				s := send()
				deliver(s, true)
				deliver(s, false)
				previous = &s
			}
		}

		// Raw packets.
		for range maxRaw {
			if len(raw) == 0 {
				break
			}
			n := min(int(raw[0]), len(raw)-1)
			decrypt(raw[1 : 1+n])
			raw = raw[1+n:]
		}
	})
}
