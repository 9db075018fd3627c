package mschapv2

import "testing"

// TestDESKeyRFC2759 is the example of RFC 2759 section 9.3: the NT hash of
// "MyPw" cut into 7-octet keys and spread over 8 octets with odd parity.
func TestDESKeyRFC2759(t *testing.T) {
	tests := []struct {
		name string
		raw  [7]byte
		want [8]byte
	}{
		{"first", [7]byte{0xFC, 0x15, 0x6A, 0xF7, 0xED, 0xCD, 0x6C}, [8]byte{0xFD, 0x0B, 0x5B, 0x5E, 0x7F, 0x6E, 0x34, 0xD9}},
		{"second", [7]byte{0x0E, 0xDD, 0xE3, 0x33, 0x7D, 0x42, 0x7F}, [8]byte{0x0E, 0x6E, 0x79, 0x67, 0x37, 0xEA, 0x08, 0xFE}},
		{"zero", [7]byte{}, [8]byte{0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01}},
		{"ones", [7]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, [8]byte{0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := desKey(tt.raw[:]); got != tt.want {
				t.Errorf("desKey(% X) = % X, want % X", tt.raw, got, tt.want)
			}
		})
	}
}

// TestDESKeyBits checks that every one of the 56 key bits lands in its own
// key bit (never in a parity bit), and that every octet has odd parity.
func TestDESKeyBits(t *testing.T) {
	seen := map[[8]byte]int{}
	for bit := range 56 {
		var raw [7]byte
		raw[bit/8] = 0x80 >> (bit % 8)
		k := desKey(raw[:])
		for i, b := range k {
			ones := 0
			for ; b != 0; b &= b - 1 {
				ones++
			}
			if ones%2 != 1 {
				t.Errorf("bit %d: octet %d = %08b has even parity", bit, i, k[i])
			}
		}
		// Bit n of the 56 lands at octet n/7, position 7-n%7 (from the low end).
		want := [8]byte{1, 1, 1, 1, 1, 1, 1, 1}
		want[bit/7] = 1 << (7 - bit%7) // one data bit set, so the parity bit is clear
		if got := k; got != want {
			t.Errorf("bit %d: desKey = % X, want % X", bit, got, want)
		}
		if prev, dup := seen[k]; dup {
			t.Errorf("bits %d and %d give the same key", prev, bit)
		}
		seen[k] = bit
	}
}
