package mschapv2_test

import (
	"bytes"
	"crypto/sha1"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// The example of RFC 2433 appendix B.2 (MS-CHAPv1, NT response only).
const (
	rfc2433Password   = "MyPw"
	rfc2433Challenge  = "10 2D B5 DF 08 5D 30 41"
	rfc2433NTHash     = "FC 15 6A F7 ED CD 6C 0E DD E3 33 7D 42 7F 4E AC"
	rfc2433NTResponse = "4E 9D 3C 8F 9C FD 38 5D 5B F4 D3 24 67 91 95 6C A4 C3 51 AB 40 9A 3D 61"
)

func TestRFC2433Example(t *testing.T) {
	nt := mschapv2.NTHash(rfc2433Password)
	if !bytes.Equal(nt[:], unhex(t, rfc2433NTHash)) {
		t.Fatalf("NT hash %X, want %s", nt, rfc2433NTHash)
	}
	var ch [8]byte
	copy(ch[:], unhex(t, rfc2433Challenge))
	resp := mschapv2.NTResponseV1(ch, nt)
	if !bytes.Equal(resp[:], unhex(t, rfc2433NTResponse)) {
		t.Fatalf("NT-Response %X, want %s", resp, rfc2433NTResponse)
	}
}

// TestMSCHAPv1StartKey checks GetStartKey's layout (RFC 3079 section 2.4:
// SHA-1 over the hash-hash twice and the challenge) and that the key
// depends on each input. RFC 3079 prints no sample for it; the VM test
// against Linux pppd and kernel MPPE (test/interop) is the interop proof.
func TestMSCHAPv1StartKey(t *testing.T) {
	var ch [8]byte
	copy(ch[:], unhex(t, rfc2433Challenge))
	hh := mschapv2.HashNTHash(mschapv2.NTHash(rfc2433Password))
	got := mschapv2.MSCHAPv1StartKey(hh, ch)
	h := sha1.New()
	h.Write(hh[:])
	h.Write(hh[:])
	h.Write(ch[:])
	if want := h.Sum(nil)[:16]; !bytes.Equal(got[:], want) {
		t.Fatalf("start key %X, want %X", got, want)
	}
	ch[7] ^= 1
	if other := mschapv2.MSCHAPv1StartKey(hh, ch); other == got {
		t.Error("the key does not depend on the challenge")
	}
	ch[7] ^= 1
	hh[0] ^= 1
	if other := mschapv2.MSCHAPv1StartKey(hh, ch); other == got {
		t.Error("the key does not depend on the hash-hash")
	}
}
