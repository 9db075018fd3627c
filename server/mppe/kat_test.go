package mppe_test

import (
	"bufio"
	"bytes"
	"crypto/rc4"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

var update = flag.Bool("update", false, "rewrite testdata/kat.txt from the reference model")

// reference is an MPPE sender written as literally as RFC 3078 reads
// (except the reset, which changes the key as Linux does),
// with crypto/rc4 and a fresh rc4.Cipher for every rc4_key, for the
// package's own RC4 and key change to be checked against. It is slow and
// allocates; that is not its job.
type reference struct {
	start, session []byte // keyLen octets
	bits           int
	stateless      bool
	tables         *rc4.Cipher
	cc             int // coherency count of the last packet, 4095 at first
	reset          bool
}

func newReference(start [16]byte, bits int, stateless bool) *reference {
	n := mschapv2.KeyLen(bits)
	session := mschapv2.InitialSessionKey(start, bits) // RFC 3079 section 3
	r := &reference{start: start[:n], session: session[:n], bits: bits, stateless: stateless, cc: 4095}
	r.rc4Key(r.session) // RFC 3078 section 5
	return r
}

func (r *reference) rc4Key(key []byte) {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic(err)
	}
	r.tables = c
}

// changeKey is RFC 3078 section 7.3, line by line.
func (r *reference) changeKey() {
	var start, session [16]byte
	copy(start[:], r.start)
	copy(session[:], r.session)
	interim := mschapv2.GetNewKeyFromSHA(start, session, len(r.start))
	r.rc4Key(interim[:len(r.start)])
	r.tables.XORKeyStream(r.session, interim[:len(r.start)])
	mschapv2.ReduceKey(r.session, r.bits)
	r.rc4Key(r.session)
}

func (r *reference) encrypt(datagram []byte) []byte {
	r.cc = (r.cc + 1) % 4096
	h := 0x1000 | r.cc
	switch {
	case r.stateless, r.cc&0xFF == 0xFF: // sections 7.1, 7.2
		r.changeKey()
		h |= 0x8000
		r.reset = false
	case r.reset: // section 8.2, as Linux's ppp_mppe does it: a key change
		r.changeKey()
		h |= 0x8000
		r.reset = false
	}
	out := []byte{byte(h >> 8), byte(h)}
	ct := make([]byte, len(datagram))
	r.tables.XORKeyStream(ct, datagram)
	return append(out, ct...)
}

// katPackets are the packets of each configuration that testdata/kat.txt
// records: the start, both sides of the first flag packets, a stateful
// reset (requested after packet 300), and the wrap of the count.
var katPackets = map[int]bool{0: true, 1: true, 2: true, 254: true, 255: true, 256: true, 301: true, 302: true, 511: true, 4095: true, 4096: true, 4097: true}

const katResetAfter = 300

// TestKnownAnswers runs every configuration for 4098 packets against the
// reference model, and the recorded packets against testdata/kat.txt
// (written by the reference model with -update), so that neither can
// drift alone.
func TestKnownAnswers(t *testing.T) {
	start := hex16(t, rfcSendStartKey128)
	var golden bytes.Buffer
	fmt.Fprintf(&golden, "# MPPE known answers: start key %s (RFC 3079 SendStartKey128),\n", strings.ReplaceAll(rfcSendStartKey128, " ", ""))
	fmt.Fprintf(&golden, "# datagram i = 00 21 then (i*7 + j*13 + i>>8) mod 256 for j = 2..%d;\n", katLen-1)
	fmt.Fprintf(&golden, "# stateful senders get a CCP Reset-Request after packet %d.\n", katResetAfter)
	fmt.Fprintf(&golden, "# config packet header ciphertext\n")
	var got bytes.Buffer
	for _, c := range configs {
		enc, dec := newPair(t, start, c.bits, c.stateless)
		ref := newReference(start, c.bits, c.stateless)
		for i := range 4098 {
			msg := datagram(i, katLen)
			packet := enc.Encrypt(nil, msg)
			want := ref.encrypt(msg)
			if !bytes.Equal(packet, want) {
				t.Fatalf("%s packet %d: % X, reference model % X", c.name, i, packet, want)
			}
			mustDecrypt(t, dec, packet, msg)
			if katPackets[i] {
				line := fmt.Sprintf("%s %d %X %X\n", strings.ReplaceAll(c.name, " ", "-"), i, packet[:2], packet[2:])
				golden.WriteString(line)
				got.WriteString(line)
			}
			if i == katResetAfter && !c.stateless {
				enc.ResetRequest()
				ref.reset = true
			}
		}
	}
	const path = "testdata/kat.txt"
	if *update {
		if err := os.WriteFile(path, golden.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readKAT(t, path)
	if got.String() != want {
		t.Errorf("packets differ from %s (rerun with -update only if the reference model is right):\n got:\n%s\nwant:\n%s", path, got.String(), want)
	}
}

const katLen = 12

func readKAT(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := s.Text(); line != "" && !strings.HasPrefix(line, "#") {
			fields := strings.Fields(line)
			if len(fields) != 4 {
				t.Fatalf("%s: bad line %q", path, line)
			}
			if _, err := hex.DecodeString(fields[3]); err != nil {
				t.Fatalf("%s: bad line %q: %v", path, line, err)
			}
			b.WriteString(line + "\n")
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestReferenceModel checks the reference model itself against RFC 3079's
// sample message (stateful, first packet), so that the known answers rest
// on the RFC and not only on agreement between two implementations.
func TestReferenceModel(t *testing.T) {
	start := hex16(t, rfcSendStartKey128)
	for _, s := range rfc3079Messages {
		ref := newReference(start, s.bits, false)
		got := ref.encrypt([]byte("test message"))
		if want := unhex(t, s.encrypted); !bytes.Equal(got[2:], want) {
			t.Errorf("%s: reference model % X, RFC % X", s.section, got[2:], want)
		}
	}
}
