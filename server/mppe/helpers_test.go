package mppe_test

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

// The credentials of RFC 2759 section 9.2, from which RFC 3079 section 3.5
// derives its sample keys.
const (
	rfcPassword   = "clientPass"
	rfcNTResponse = "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF"
	// SendStartKey128 of RFC 3079 section 3.5.3: the server's master send
	// key. SendStartKey40 and SendStartKey56 (sections 3.5.1 and 3.5.2)
	// are its first 8 octets.
	rfcSendStartKey128 = "8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB"
)

// configs are the six ways MPPE can be negotiated.
var configs = []struct {
	name      string
	bits      int
	stateless bool
}{
	{"40-bit stateless", 40, true},
	{"56-bit stateless", 56, true},
	{"128-bit stateless", 128, true},
	{"40-bit stateful", 40, false},
	{"56-bit stateful", 56, false},
	{"128-bit stateful", 128, false},
}

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func hex16(tb testing.TB, s string) (a [16]byte) {
	tb.Helper()
	if b := unhex(tb, s); copy(a[:], b) != len(a) || len(b) != len(a) {
		tb.Fatalf("%q is not 16 octets", s)
	}
	return a
}

// rfcKeys returns the master send and receive keys of the server and of
// the client for the RFC 2759 credentials.
func rfcKeys(tb testing.TB) (serverSend, serverRecv, clientSend, clientRecv [16]byte) {
	tb.Helper()
	var ntResp [24]byte
	copy(ntResp[:], unhex(tb, rfcNTResponse))
	hashHash := mschapv2.HashNTHash(mschapv2.NTHash(rfcPassword))
	serverSend, serverRecv = mschapv2.MasterSessionKeys(hashHash, ntResp, true)
	clientSend, clientRecv = mschapv2.MasterSessionKeys(hashHash, ntResp, false)
	return
}

// newPair returns the two ends of one direction.
func newPair(tb testing.TB, start [16]byte, bits int, stateless bool) (*mppe.Encrypter, *mppe.Decrypter) {
	tb.Helper()
	enc, err := mppe.NewEncrypter(start, bits, stateless)
	if err != nil {
		tb.Fatal(err)
	}
	dec, err := mppe.NewDecrypter(start, bits, stateless)
	if err != nil {
		tb.Fatal(err)
	}
	return enc, dec
}

// datagram is the i-th test datagram: protocol 0x0021 (IPv4), then n-2
// octets that depend on i, so that a packet decrypted with the wrong
// keystream or mixed up with another one shows. A 1-octet datagram is a
// protocol field compressed by PFC.
func datagram(i, n int) []byte {
	if n == 1 {
		return []byte{0x21}
	}
	b := make([]byte, n)
	binary.BigEndian.PutUint16(b, 0x0021)
	for j := 2; j < n; j++ {
		b[j] = byte(i*7 + j*13 + i>>8)
	}
	return b
}

// testKey is an arbitrary start key for tests that do not need the RFC's.
var testKey = [16]byte{0x8B, 0x7C, 0xDC, 0x14, 0x9B, 0x99, 0x3A, 0x1B, 0xA1, 0x18, 0xCB, 0x15, 0x3F, 0x56, 0xDC, 0xCB}

// mustDecrypt decrypts packet and fails the test unless it gives want.
func mustDecrypt(tb testing.TB, dec *mppe.Decrypter, packet, want []byte) {
	tb.Helper()
	h, _ := mppe.ParseHeader(packet)
	got, err := dec.Decrypt(nil, packet)
	if err != nil {
		tb.Fatalf("packet %v: %v", h, err)
	}
	if string(got) != string(want) {
		tb.Fatalf("packet %v: decrypted to % X..., want % X...", h, head(got), head(want))
	}
}

// mustRefuse decrypts packet and fails the test unless Decrypt refuses it
// with want and leaves dst alone.
func mustRefuse(tb testing.TB, dec *mppe.Decrypter, packet []byte, want error) {
	tb.Helper()
	h, _ := mppe.ParseHeader(packet)
	dst := []byte("dst")
	got, err := dec.Decrypt(dst, packet)
	if err != want {
		tb.Fatalf("packet %v: error %v, want %v", h, err, want)
	}
	if string(got) != "dst" {
		tb.Fatalf("packet %v: refused, but dst changed to %q", h, got)
	}
}

func head(b []byte) []byte {
	return b[:min(len(b), 8)]
}
