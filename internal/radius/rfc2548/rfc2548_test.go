package rfc2548_test

import (
	"bytes"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/vendors/microsoft"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc2548"
)

func TestKeyRoundTripAndLayeh(t *testing.T) {
	secret := []byte("secret")
	var auth [16]byte
	copy(auth[:], "0123456789abcdef")
	key := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	v := rfc2548.EncryptKey(key, secret, auth, 0x1234)
	got, err := rfc2548.DecryptKey(v, secret, auth)
	if err != nil || got != key {
		t.Fatalf("round trip: %x %v", got, err)
	}
	// layeh.com/radius decodes it the same way (an independent reading).
	req := &radius.Packet{Code: radius.CodeAccessRequest, Authenticator: auth, Secret: secret}
	resp := &radius.Packet{Code: radius.CodeAccessAccept, Authenticator: auth, Secret: secret}
	resp.Add(26, rfc2548.VSA(rfc2548.TypeMPPESendKey, v))
	if lk, err := microsoft.MSMPPESendKey_Lookup(resp, req); err != nil || !bytes.Equal(lk[:16], key[:]) {
		t.Errorf("layeh reads %x, %v", lk, err)
	}
	if _, err := rfc2548.DecryptKey(v, []byte("other"), auth); err == nil {
		t.Error("wrong secret decrypted to a well-formed key")
	}
	v[0] &^= 0x80
	if _, err := rfc2548.DecryptKey(v, secret, auth); err == nil {
		t.Error("salt without high bit accepted")
	}
}

func TestCHAP2Success(t *testing.T) {
	v := append([]byte{5}, "S=407A5589115FD0D6209F510FE9C04566932CDA56"...)
	id, ar, err := rfc2548.ParseCHAP2Success(v)
	if err != nil || id != 5 || ar != "S=407A5589115FD0D6209F510FE9C04566932CDA56" {
		t.Errorf("%d %q %v", id, ar, err)
	}
	for _, bad := range [][]byte{nil, v[:42], append([]byte{5}, "X=407A5589115FD0D6209F510FE9C04566932CDA56"...), append([]byte{5}, "S=407A5589115FD0D6209F510FE9C04566932CDAZZ"...)} {
		if _, _, err := rfc2548.ParseCHAP2Success(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCHAPError(t *testing.T) {
	for _, c := range []struct {
		in   string
		code int
		msg  string
	}{
		{"\x01E=691 R=1 C=00112233445566778899aabbccddeeff V=3 M=Authentication failed", 691, "Authentication failed"},
		{"\x01E=647 R=0", 647, ""},
		{"\x01E=648 R=0 M=Password has expired, call x", 648, "Password has expired, call x"},
	} {
		e, err := rfc2548.ParseCHAPError([]byte(c.in))
		if err != nil || e.Code != c.code || e.Message != c.msg || e.Reason() == "" {
			t.Errorf("%q: %+v %v", c.in, e, err)
		}
	}
	for _, bad := range []string{"", "\x01", "\x01R=1", "\x01E=abc"} {
		if _, err := rfc2548.ParseCHAPError([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var auth [16]byte
	f.Add(rfc2548.EncryptKey([16]byte{1}, []byte("s"), auth, 7), []byte("s"))
	f.Add(append([]byte{1}, "S=407A5589115FD0D6209F510FE9C04566932CDA56"...), []byte(""))
	f.Add([]byte("\x01E=691 R=1 C=00 V=3 M=x"), []byte("s"))
	f.Add(rfc2548.VSA(rfc2548.TypeCHAP2Success, []byte("x")), []byte{})
	f.Fuzz(func(t *testing.T, v, secret []byte) {
		_, _, _ = rfc2548.ParseCHAP2Success(v)
		_, _ = rfc2548.ParseCHAPError(v)
		_, _ = rfc2548.Lookup([][]byte{v}, rfc2548.TypeCHAP2Success)
		if k, err := rfc2548.DecryptKey(v, secret, auth); err == nil {
			// Re-encrypting with the same salt gives a value that decrypts
			// to the same key.
			if k2, err := rfc2548.DecryptKey(rfc2548.EncryptKey(k, secret, auth, uint16(v[0])<<8|uint16(v[1])), secret, auth); err != nil || k2 != k {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
