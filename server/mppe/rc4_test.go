package mppe

import (
	"bytes"
	"crypto/rc4"
	"math/rand/v2"
	"testing"
)

// TestRC4AgainstStdlib: rc4Tables is RC4. Random 8- and 16-octet keys
// (the MPPE key lengths), random lengths, and keystream continued across
// calls, against crypto/rc4.
func TestRC4AgainstStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tables rc4Tables
	for i := range 500 {
		key := make([]byte, []int{8, 16}[i%2])
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		want, err := rc4.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		tables.setKey(key) // re-keyed in place, over the previous state
		for range 3 {
			src := make([]byte, rng.IntN(2000))
			for j := range src {
				src[j] = byte(rng.Uint32())
			}
			got := make([]byte, len(src))
			tables.xorKeyStream(got, src)
			exp := make([]byte, len(src))
			want.XORKeyStream(exp, src)
			if !bytes.Equal(got, exp) {
				t.Fatalf("key % X, %d octets: keystream differs from crypto/rc4", key, len(src))
			}
		}
	}
}

// TestRC4ShiftedInPlace: the keystream loop reads each octet before it
// writes at or after it, so output may start before the input in the same
// buffer (Decrypt into packet[:0]).
func TestRC4ShiftedInPlace(t *testing.T) {
	key := []byte("0123456789abcdef")
	src := bytes.Repeat([]byte("MPPE"), 100)
	var a, b rc4Tables
	a.setKey(key)
	b.setKey(key)
	want := make([]byte, len(src))
	a.xorKeyStream(want, src)
	buf := append([]byte{0xEE, 0xEE}, src...)
	b.xorKeyStream(buf[:len(src)], buf[2:])
	if !bytes.Equal(buf[:len(src)], want) {
		t.Fatal("shifted in-place output differs")
	}
}

func TestRC4SetKeyAllocs(t *testing.T) {
	var tables rc4Tables
	key := make([]byte, 16)
	if n := testing.AllocsPerRun(100, func() { tables.setKey(key) }); n != 0 {
		t.Errorf("setKey: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { c, _ := rc4.NewCipher(key); _ = c }); n == 0 {
		t.Log("crypto/rc4.NewCipher no longer allocates; rc4Tables could give way to it")
	}
}

func TestFlagPackets(t *testing.T) {
	// Brute force against the definition: counts after last, up to
	// delta of them, whose low octet is 0xFF.
	for last := range uint16(CoherencyCountSpace) {
		want := 0
		for delta := uint16(1); delta <= Window; delta++ {
			if isFlagPacket((last + delta) & coherencyMask) {
				want++
			}
			if got := flagPackets(last, delta); got != want {
				t.Fatalf("flagPackets(%d, %d) = %d, want %d", last, delta, got, want)
			}
		}
	}
}
