package rfc3579_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
)

// packet: Access-Request id 1, User-Name "alice", Message-Authenticator.
func packet() []byte {
	b := []byte{1, 1, 0, 0}
	b = append(b, bytes.Repeat([]byte{0xAA}, 16)...)
	b = append(b, 1, 7, 'a', 'l', 'i', 'c', 'e')
	b = append(b, rfc3579.Type, rfc3579.Len)
	b = append(b, make([]byte, 16)...)
	b[3] = byte(len(b))
	return b
}

func TestSignVerify(t *testing.T) {
	secret := []byte("s")
	b := packet()
	if err := rfc3579.Verify(b, secret, nil); !errors.Is(err, rfc3579.ErrInvalid) {
		t.Errorf("unsigned: %v", err)
	}
	if err := rfc3579.Sign(b, secret, nil); err != nil {
		t.Fatal(err)
	}
	if err := rfc3579.Verify(b, secret, nil); err != nil {
		t.Errorf("signed: %v", err)
	}
	if err := rfc3579.Verify(b, []byte("t"), nil); !errors.Is(err, rfc3579.ErrInvalid) {
		t.Errorf("other secret: %v", err)
	}
	var other [16]byte
	if err := rfc3579.Verify(b, secret, &other); !errors.Is(err, rfc3579.ErrInvalid) {
		t.Errorf("other authenticator: %v", err)
	}
	b[22] ^= 1
	if err := rfc3579.Verify(b, secret, nil); !errors.Is(err, rfc3579.ErrInvalid) {
		t.Errorf("changed attribute: %v", err)
	}
}

func TestFind(t *testing.T) {
	b := packet()
	for _, c := range []struct {
		name string
		mod  func([]byte) []byte
		err  error
	}{
		{"ok", func(b []byte) []byte { return b }, nil},
		{"short", func(b []byte) []byte { return b[:19] }, rfc3579.ErrMalformed},
		{"length beyond data", func(b []byte) []byte { b[3]++; return b }, rfc3579.ErrMalformed},
		{"zero attribute length", func(b []byte) []byte { b[21] = 0; return b }, rfc3579.ErrMalformed},
		{"missing", func(b []byte) []byte { b = b[:27]; b[3] = 27; return b }, rfc3579.ErrMissing},
		{"wrong MA length", func(b []byte) []byte { b[28] = 17; return b }, rfc3579.ErrMalformed},
		{"two", func(b []byte) []byte {
			b = append(b, b[27:45]...)
			b[3] = byte(len(b))
			return b
		}, rfc3579.ErrDuplicate},
	} {
		_, err := rfc3579.Find(c.mod(bytes.Clone(b)))
		if !errors.Is(err, c.err) && !(c.err == nil && err == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

// FuzzVerify: never panics; Sign then Verify round-trips on any packet
// Find accepts.
func FuzzVerify(f *testing.F) {
	f.Add(packet(), []byte("s"))
	f.Add([]byte{1, 1, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte("x"))
	f.Fuzz(func(t *testing.T, b, secret []byte) {
		_ = rfc3579.Verify(b, secret, nil)
		if _, err := rfc3579.Find(b); err != nil {
			return
		}
		c := bytes.Clone(b)
		if err := rfc3579.Sign(c, secret, nil); err != nil {
			t.Fatal(err)
		}
		if err := rfc3579.Verify(c, secret, nil); err != nil {
			t.Fatalf("signed packet does not verify: %v", err)
		}
	})
}
