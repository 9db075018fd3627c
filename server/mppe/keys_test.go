package mppe

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// BenchmarkKeyChange is what stateless mode adds to every packet and
// stateful mode to every 256th (RFC 3078 section 7.3): one SHA-1, two
// RC4 key schedules and 8 or 16 octets of keystream.
func BenchmarkKeyChange(b *testing.B) {
	for _, bits := range []int{40, 128} {
		b.Run(map[int]string{40: "40-bit", 128: "128-bit"}[bits], func(b *testing.B) {
			var k keys
			if err := k.init([16]byte{1, 2, 3}, bits); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				k.change()
			}
		})
	}
}

func BenchmarkRC4SetKey(b *testing.B) {
	var c rc4Tables
	key := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		c.setKey(key)
	}
}

func BenchmarkGetNewKeyFromSHA(b *testing.B) {
	var s, k [16]byte
	for b.Loop() {
		k = mschapv2.GetNewKeyFromSHA(s, k, 16)
	}
}
