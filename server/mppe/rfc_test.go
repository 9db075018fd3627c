package mppe_test

import (
	"bytes"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

// rfc3079Messages are the sample encrypted messages of RFC 3079 sections
// 3.5.1 to 3.5.3: "test message" encrypted with the initial send session
// key, which is what a stateful Encrypter's first packet carries (RFC 3079
// section 3.1: the tables are keyed with the initial session key; RFC 3078
// section 7.2: no key change before the first packet, count 0).
var rfc3079Messages = []struct {
	section   string
	bits      int
	encrypted string
}{
	{"3.5.1", 40, "92 91 37 91 7E 58 03 D6 68 D7 58 98"},
	// The RFC prints the last octet as 58; RC4 under the RFC's own
	// SendSessionKey56 gives B8 (see authpolicy/mschapv2's tests).
	{"3.5.2", 56, "3F 10 68 33 FA 44 8D A8 42 BC 57 B8"},
	{"3.5.3", 128, "81 84 83 17 DF 68 84 62 72 FB 5A BE"},
}

// TestRFC3079SampleMessages runs the RFC's samples through this package,
// from the password to the packet: the server encrypts with its master
// send key, and the client decrypts with its master receive key, which is
// the same key.
func TestRFC3079SampleMessages(t *testing.T) {
	serverSend, _, _, clientRecv := rfcKeys(t)
	if want := hex16(t, rfcSendStartKey128); serverSend != want {
		t.Fatalf("server send key % X, want SendStartKey128 % X", serverSend, want)
	}
	for _, s := range rfc3079Messages {
		t.Run(s.section, func(t *testing.T) {
			enc, err := mppe.NewEncrypter(serverSend, s.bits, false)
			if err != nil {
				t.Fatal(err)
			}
			packet := enc.Encrypt(nil, []byte("test message"))
			want := append([]byte{0x10, 0x00}, unhex(t, s.encrypted)...) // D, count 0
			if !bytes.Equal(packet, want) {
				t.Errorf("first packet % X, want % X", packet, want)
			}

			dec, err := mppe.NewDecrypter(clientRecv, s.bits, false)
			if err != nil {
				t.Fatal(err)
			}
			mustDecrypt(t, dec, want, []byte("test message"))
		})
	}
}

// TestStatelessFirstPacket: in stateless mode the key changes before every
// packet, the first one included (RFC 3078 section 7.1), so the first
// packet is not RFC 3079's sample message; it is what the reference model
// (kat_test.go, built on crypto/rc4) computes from the RFC's key.
func TestStatelessFirstPacket(t *testing.T) {
	start := hex16(t, rfcSendStartKey128)
	for _, s := range rfc3079Messages {
		t.Run(s.section, func(t *testing.T) {
			enc, _ := newPair(t, start, s.bits, true)
			packet := enc.Encrypt(nil, []byte("test message"))
			ref := newReference(start, s.bits, true)
			if want := ref.encrypt([]byte("test message")); !bytes.Equal(packet, want) {
				t.Fatalf("first packet % X, want % X", packet, want)
			}
			if packet[0] != 0x90 || packet[1] != 0x00 {
				t.Errorf("header % X, want 90 00 (A, D, count 0)", packet[:2])
			}
			if bytes.Equal(packet[2:], unhex(t, s.encrypted)) {
				t.Error("stateless first packet encrypted with the initial session key; the key must change first")
			}
		})
	}
}

// TestKeyOrientation: the server encrypts with its send key and decrypts
// with its receive key; the client the other way round (RFC 3079 section
// 3.4). Getting it wrong is not detected by MPPE, which has no integrity
// check: the wrong key "decrypts" to garbage without an error.
func TestKeyOrientation(t *testing.T) {
	serverSend, serverRecv, clientSend, clientRecv := rfcKeys(t)
	msg := datagram(1, 100)
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			encrypter := func(k [16]byte) *mppe.Encrypter {
				e, err := mppe.NewEncrypter(k, c.bits, c.stateless)
				if err != nil {
					t.Fatal(err)
				}
				return e
			}
			decrypter := func(k [16]byte) *mppe.Decrypter {
				d, err := mppe.NewDecrypter(k, c.bits, c.stateless)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			// Server to client.
			mustDecrypt(t, decrypter(clientRecv), encrypter(serverSend).Encrypt(nil, msg), msg)
			// Client to server.
			mustDecrypt(t, decrypter(serverRecv), encrypter(clientSend).Encrypt(nil, msg), msg)
			// The server's own receive key does not read what it sends.
			got, err := decrypter(serverRecv).Decrypt(nil, encrypter(serverSend).Encrypt(nil, msg))
			if err != nil {
				t.Fatalf("wrong key: %v, want garbage and no error", err)
			}
			if bytes.Equal(got, msg) {
				t.Fatal("the server's receive key decrypts what the server sends")
			}
		})
	}
}

// TestStartKeyLength: 40- and 56-bit MPPE uses only the first 8 octets of
// the start key (RFC 3079 sections 3.1 and 3.2).
func TestStartKeyLength(t *testing.T) {
	full := hex16(t, rfcSendStartKey128)
	var short [16]byte
	copy(short[:8], full[:8])
	for _, bits := range []int{40, 56} {
		a, _ := newPair(t, full, bits, true)
		b, _ := newPair(t, short, bits, true)
		msg := datagram(0, 64)
		if !bytes.Equal(a.Encrypt(nil, msg), b.Encrypt(nil, msg)) {
			t.Errorf("%d-bit: octets 8-15 of the start key changed the packet", bits)
		}
	}
	a, _ := newPair(t, full, 128, true)
	b, _ := newPair(t, short, 128, true)
	if bytes.Equal(a.Encrypt(nil, []byte{0, 0x21}), b.Encrypt(nil, []byte{0, 0x21})) {
		t.Error("128-bit: octets 8-15 of the start key did not count")
	}
}
