package pskc

import (
	"bytes"
	"crypto/aes"
	"errors"
	"testing"
)

// TestUnwrapRFC3394 unwraps the test vectors of RFC 3394 section 4.
func TestUnwrapRFC3394(t *testing.T) {
	const (
		kek128 = "000102030405060708090A0B0C0D0E0F"
		kek192 = "000102030405060708090A0B0C0D0E0F1011121314151617"
		kek256 = "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"
	)
	tests := []struct {
		section, kek, key, wrapped string
	}{
		{"4.1", kek128, "00112233445566778899AABBCCDDEEFF", "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"4.2", kek192, "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
		{"4.3", kek256, "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
		{"4.4", kek192, "00112233445566778899AABBCCDDEEFF0001020304050607", "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
		{"4.5", kek256, "00112233445566778899AABBCCDDEEFF0001020304050607", "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
		{"4.6", kek256, "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F", "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			b, err := aes.NewCipher(unhex(tt.kek))
			if err != nil {
				t.Fatal(err)
			}
			got, err := unwrap(b, unhex(tt.wrapped))
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(tt.key); !bytes.Equal(got, want) {
				t.Errorf("unwrap = %X, want %X", got, want)
			}

			// Any flipped bit fails the integrity check.
			for i := range len(tt.wrapped) / 2 {
				c := unhex(tt.wrapped)
				c[i] ^= 0x80
				if _, err := unwrap(b, c); !errors.Is(err, errUnwrapCheck) {
					t.Fatalf("bit flipped in octet %d: err = %v, want errUnwrapCheck", i, err)
				}
			}
		})
	}
}

func TestUnwrapLength(t *testing.T) {
	b, _ := aes.NewCipher(make([]byte, 16))
	for _, n := range []int{0, 8, 16, 23, 25, 31} {
		if _, err := unwrap(b, make([]byte, n)); err == nil || errors.Is(err, errUnwrapCheck) {
			t.Errorf("%d bytes: err = %v, want a length error", n, err)
		}
	}
}
