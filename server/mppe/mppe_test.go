package mppe_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/mppe"
)

// TestRoundTrip sends 10000 packets of varying length in each
// configuration, through two wraps of the coherency count, and checks every
// header and every decrypted datagram.
func TestRoundTrip(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, c.stateless)
			for i := range 10000 {
				msg := datagram(i, 1+i%1500)
				packet := enc.Encrypt(nil, msg)
				h, err := mppe.ParseHeader(packet)
				if err != nil {
					t.Fatal(err)
				}
				cc := uint16(i % mppe.CoherencyCountSpace)
				wantA := c.stateless || cc&0xFF == 0xFF
				if h.CoherencyCount() != cc || !h.Encrypted() || h.Flushed() != wantA || h&(mppe.FlagB|mppe.FlagC) != 0 {
					t.Fatalf("packet %d: header %v, want count %d, D, A=%v", i, h, cc, wantA)
				}
				if len(packet) != mppe.HeaderLen+len(msg) {
					t.Fatalf("packet %d: %d octets for a %d-octet datagram", i, len(packet), len(msg))
				}
				mustDecrypt(t, dec, packet, msg)
			}
		})
	}
}

// TestInPlace: Encrypt into the headroom in front of the datagram and
// Decrypt into the front of the packet give the same octets as separate
// buffers.
func TestInPlace(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			encA, decA := newPair(t, testKey, c.bits, c.stateless)
			encB, decB := newPair(t, testKey, c.bits, c.stateless)
			for i := range 600 {
				msg := datagram(i, 1400)
				want := encA.Encrypt(nil, msg)

				buf := make([]byte, mppe.HeaderLen+len(msg), 2000)
				copy(buf[mppe.HeaderLen:], msg)
				packet := encB.Encrypt(buf[:0], buf[mppe.HeaderLen:])
				if !bytes.Equal(packet, want) || &packet[0] != &buf[0] {
					t.Fatalf("packet %d: in-place encryption differs or moved", i)
				}

				mustDecrypt(t, decA, want, msg)
				got, err := decB.Decrypt(packet[:0], packet)
				if err != nil || !bytes.Equal(got, msg) || &got[0] != &buf[0] {
					t.Fatalf("packet %d: in-place decryption: %v", i, err)
				}
			}
		})
	}
}

// TestAppend: both append to what dst holds.
func TestAppend(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, true)
	msg := datagram(0, 40)
	packet := enc.Encrypt([]byte("GRE+PPP:"), msg)
	if !bytes.HasPrefix(packet, []byte("GRE+PPP:")) || len(packet) != 8+mppe.HeaderLen+len(msg) {
		t.Fatalf("Encrypt did not append: %q", packet)
	}
	got, err := dec.Decrypt([]byte("ip:"), packet[8:])
	if err != nil || string(got) != "ip:"+string(msg) {
		t.Fatalf("Decrypt did not append: %q, %v", got, err)
	}
}

func TestBufferMisuse(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: did not panic", name)
			}
		}()
		f()
	}
	enc, dec := newPair(t, testKey, 128, false)
	buf := make([]byte, 100, 200)
	// The ciphertext would start 2 octets after the plaintext and
	// overwrite it before it is read.
	mustPanic("Encrypt over its own plaintext", func() { enc.Encrypt(buf[:0], buf[:50]) })
	mustPanic("Encrypt of nothing", func() { enc.Encrypt(nil, nil) })
	packet := enc.Encrypt(nil, datagram(0, 50))
	copy(buf, packet)
	mustPanic("Decrypt behind its input", func() { dec.Decrypt(buf[:3], buf[:len(packet)]) })
}

// TestStatelessLoss: in stateless mode the decrypter survives any loss up
// to the Window, changing keys once per count (RFC 3078 section 8.1). One
// session loses 1, then 2, ... then 100 packets, with 3 delivered after
// each loss: 5350 counts, so losses also span the wrap from 4095 to 0.
func TestStatelessLoss(t *testing.T) {
	for _, c := range configs[:3] {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, true)
			i, wrapped := 0, false
			for lost := 1; lost <= 100; lost++ {
				for range lost {
					enc.Encrypt(nil, datagram(i, 64))
					i++
				}
				wrapped = wrapped || i%mppe.CoherencyCountSpace < lost
				for range 3 {
					mustDecrypt(t, dec, enc.Encrypt(nil, datagram(i, 64)), datagram(i, 64))
					i++
				}
			}
			if !wrapped {
				t.Fatal("no loss spanned the wrap of the count")
			}
		})
	}
}

// TestStatelessWindow: 2047 packets lost in a row are caught up with
// (2048 key changes); 2048 lost cannot be told from a late packet and the
// packet is refused.
func TestStatelessWindow(t *testing.T) {
	for _, lost := range []int{mppe.Window - 1, mppe.Window} {
		enc, dec := newPair(t, testKey, 128, true)
		mustDecrypt(t, dec, enc.Encrypt(nil, datagram(0, 20)), datagram(0, 20))
		for i := range lost {
			enc.Encrypt(nil, datagram(1+i, 20))
		}
		packet := enc.Encrypt(nil, datagram(1+lost, 20))
		if lost < mppe.Window {
			mustDecrypt(t, dec, packet, datagram(1+lost, 20))
		} else {
			mustRefuse(t, dec, packet, mppe.ErrLate)
		}
	}
}

// TestStatelessReorder: a late packet is refused with ErrLate, never
// decrypted with the wrong key, and leaves the decrypter where it was; so
// does a duplicate.
func TestStatelessReorder(t *testing.T) {
	for _, c := range configs[:3] {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, true)
			var p [6][]byte
			for i := range p {
				p[i] = enc.Encrypt(nil, datagram(i, 300))
			}
			mustDecrypt(t, dec, p[0], datagram(0, 300))
			mustDecrypt(t, dec, p[2], datagram(2, 300))
			mustRefuse(t, dec, p[1], mppe.ErrLate) // overtaken
			mustDecrypt(t, dec, p[3], datagram(3, 300))
			mustRefuse(t, dec, p[3], mppe.ErrLate) // duplicate
			mustRefuse(t, dec, p[0], mppe.ErrLate) // much older
			mustDecrypt(t, dec, p[5], datagram(5, 300))
			mustRefuse(t, dec, p[4], mppe.ErrLate)
		})
	}
}

// TestStatefulLossAndReset walks the resynchronisation of RFC 3078
// section 8.2 with losses of every size that matters: inside one key
// period, up to and across flag packets, and across several.
func TestStatefulLossAndReset(t *testing.T) {
	for _, c := range configs[3:] {
		for _, first := range []int{0, 200, 4000} {
			for _, lost := range []int{1, 2, 54, 55, 56, 255, 256, 257, 300, 700, 1500, 2000} {
				t.Run(fmt.Sprintf("%s/from %d/lose %d", c.name, first, lost), func(t *testing.T) {
					testStatefulLoss(t, c.bits, first, lost)
				})
			}
		}
	}
}

func testStatefulLoss(t *testing.T, bits, first, lost int) {
	enc, dec := newPair(t, testKey, bits, false)
	i := 0
	send := func() ([]byte, []byte) {
		msg := datagram(i, 100)
		packet := enc.Encrypt(nil, msg)
		i++
		return packet, msg
	}
	for i < first {
		packet, msg := send()
		mustDecrypt(t, dec, packet, msg)
	}
	for range lost {
		send()
	}
	// The packet after the loss, and those after it until the peer
	// hears the Reset-Request, are dropped; unless one of them is a
	// flag packet, which carries the FLUSHED bit and resynchronises
	// by itself.
	inFlight := 3
	synced := false
	for range inFlight {
		packet, msg := send()
		if h, _ := mppe.ParseHeader(packet); h.Flushed() {
			mustDecrypt(t, dec, packet, msg)
			synced = true
			continue
		}
		if synced {
			mustDecrypt(t, dec, packet, msg)
		} else {
			mustRefuse(t, dec, packet, mppe.ErrNeedReset)
		}
	}
	enc.ResetRequest()
	packet, msg := send()
	if h, _ := mppe.ParseHeader(packet); !h.Flushed() {
		t.Fatalf("packet %v after ResetRequest is not flushed", h)
	}
	mustDecrypt(t, dec, packet, msg)
	// In step again, through the next flag packets.
	for range 600 {
		packet, msg := send()
		mustDecrypt(t, dec, packet, msg)
	}
}

// TestStatefulReorder: in stateful mode a packet that overtakes another
// is a loss: the decrypter waits for a flushed packet and the late one is
// dropped too.
func TestStatefulReorder(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, false)
	var p [5][]byte
	for i := range p {
		p[i] = enc.Encrypt(nil, datagram(i, 80))
	}
	mustDecrypt(t, dec, p[0], datagram(0, 80))
	mustRefuse(t, dec, p[2], mppe.ErrNeedReset)
	mustRefuse(t, dec, p[1], mppe.ErrLate) // behind p[2], which the decrypter has seen
	mustRefuse(t, dec, p[3], mppe.ErrNeedReset)
	enc.ResetRequest()
	msg := datagram(5, 80)
	mustDecrypt(t, dec, enc.Encrypt(nil, msg), msg)
	mustRefuse(t, dec, p[4], mppe.ErrLate)
}

// TestStatefulDuplicate: a duplicate does not touch the RC4 tables, so it
// costs no Reset-Request.
func TestStatefulDuplicate(t *testing.T) {
	enc, dec := newPair(t, testKey, 56, false)
	p0 := enc.Encrypt(nil, datagram(0, 80))
	mustDecrypt(t, dec, p0, datagram(0, 80))
	mustRefuse(t, dec, p0, mppe.ErrLate)
	mustDecrypt(t, dec, enc.Encrypt(nil, datagram(1, 80)), datagram(1, 80))
}

// TestStatefulFlagWithoutFlushedBit: RFC 3078 section 7.2 ties the key
// change to the count alone, and some senders (FreeBSD's ng_mppc) leave
// the FLUSHED bit off flag packets. The key still changes.
func TestStatefulFlagWithoutFlushedBit(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, false)
	for i := range 600 {
		msg := datagram(i, 50)
		packet := enc.Encrypt(nil, msg)
		packet[0] &^= 0x80 // clear A
		mustDecrypt(t, dec, packet, msg)
	}
}

// TestResetChangesKey pins the reset as Linux's ppp_mppe does it (see the
// package documentation): after a Reset-Request the sender changes the
// session key once and re-initialises RC4 with it, so the flushed packet
// is encrypted exactly as a stateless sender's first packet, whose key has
// changed once too, and reuses no earlier keystream.
func TestResetChangesKey(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, false)
	p0, m0 := enc.Encrypt(nil, datagram(0, 64)), datagram(0, 64)
	mustDecrypt(t, dec, p0, m0)
	for i := 1; i < 5; i++ {
		mustDecrypt(t, dec, enc.Encrypt(nil, datagram(i, 64)), datagram(i, 64))
	}
	enc.ResetRequest()
	p5, m5 := enc.Encrypt(nil, datagram(5, 64)), datagram(5, 64)
	if h, _ := mppe.ParseHeader(p5); !h.Flushed() {
		t.Fatal("the packet after a Reset-Request is not flushed")
	}
	mustDecrypt(t, dec, p5, m5) // an in-step flushed packet is fine too
	stateless, _ := newPair(t, testKey, 128, true)
	s1 := stateless.Encrypt(nil, m5)
	if !bytes.Equal(p5[2:], s1[2:]) {
		t.Fatal("the flushed packet is not encrypted with the key changed once")
	}
	same := true
	for j := range m0 {
		same = same && p0[2+j]^p5[2+j] == m0[j]^m5[j]
	}
	if same {
		t.Fatal("the flushed packet reuses the first packet's keystream")
	}
	// In step after the reset.
	for i := 6; i < 600; i++ {
		mustDecrypt(t, dec, enc.Encrypt(nil, datagram(i, 64)), datagram(i, 64))
	}
}

// TestResetRequestStateless: every stateless packet is flushed already.
func TestResetRequestStateless(t *testing.T) {
	a, _ := newPair(t, testKey, 128, true)
	b, _ := newPair(t, testKey, 128, true)
	for i := range 10 {
		if i == 3 {
			b.ResetRequest()
		}
		if !bytes.Equal(a.Encrypt(nil, datagram(i, 30)), b.Encrypt(nil, datagram(i, 30))) {
			t.Fatalf("packet %d: ResetRequest changed a stateless packet", i)
		}
	}
}

// TestRefusedHeaders: malformed or tampered headers are refused before
// they touch the state, so the next genuine packet still decrypts.
func TestRefusedHeaders(t *testing.T) {
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			enc, dec := newPair(t, testKey, c.bits, c.stateless)
			for i := range 3 {
				msg := datagram(i, 40)
				packet := enc.Encrypt(nil, msg)

				mustRefuse(t, dec, nil, mppe.ErrShort)
				mustRefuse(t, dec, packet[:1], mppe.ErrShort)
				mustRefuse(t, dec, packet[:2], mppe.ErrShort) // a header and no protocol field

				noD := bytes.Clone(packet)
				noD[0] &^= 0x10
				mustRefuse(t, dec, noD, mppe.ErrNotEncrypted)

				if c.stateless {
					noA := bytes.Clone(packet)
					noA[0] &^= 0x80
					mustRefuse(t, dec, noA, mppe.ErrNotFlushed)
				}

				// B and C mean nothing to MPPE.
				bc := bytes.Clone(packet)
				bc[0] |= 0x60
				mustDecrypt(t, dec, bc, msg)
			}
		})
	}
}

// TestNoIntegrity documents RFC 3078's lack of integrity protection: a
// flipped ciphertext bit flips the same plaintext bit, and nothing
// notices.
func TestNoIntegrity(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, true)
	msg := datagram(0, 60)
	packet := enc.Encrypt(nil, msg)
	packet[2+30] ^= 0x01
	got, err := dec.Decrypt(nil, packet)
	if err != nil {
		t.Fatal(err)
	}
	if got[30] != msg[30]^0x01 || !bytes.Equal(got[:30], msg[:30]) || !bytes.Equal(got[31:], msg[31:]) {
		t.Fatal("a flipped ciphertext bit did not flip exactly that plaintext bit")
	}
}

func TestNewErrors(t *testing.T) {
	for _, bits := range []int{0, 64, 127, 256, -40} {
		if _, err := mppe.NewEncrypter(testKey, bits, true); err == nil {
			t.Errorf("NewEncrypter(%d bits): no error", bits)
		}
		if _, err := mppe.NewDecrypter(testKey, bits, false); err == nil {
			t.Errorf("NewDecrypter(%d bits): no error", bits)
		}
	}
}

func TestHeader(t *testing.T) {
	if _, err := mppe.ParseHeader([]byte{0x90}); err != mppe.ErrShort {
		t.Errorf("ParseHeader of one octet: %v, want ErrShort", err)
	}
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0x90, 0xFF}, "A--D 255"},
		{[]byte{0x1F, 0xFF}, "---D 4095"},
		{[]byte{0xF0, 0x00}, "ABCD 0"},
		{[]byte{0x00, 0x11}, "---- 17"},
	}
	for _, tt := range tests {
		h, err := mppe.ParseHeader(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if h.String() != tt.want {
			t.Errorf("% X: %q, want %q", tt.in, h.String(), tt.want)
		}
		if got := h.Append(nil); !bytes.Equal(got, tt.in) {
			t.Errorf("% X: Append gives % X", tt.in, got)
		}
	}
}

// TestRedacted: the Encrypter and Decrypter print and log without their
// keys.
func TestRedacted(t *testing.T) {
	start := testKey
	enc, dec := newPair(t, start, 128, false)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("session", "send", enc, "recv", dec)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("session", "send", enc, "recv", dec)
	text := fmt.Sprint(enc, dec) + fmt.Sprintf("%v %+v %s %#v", enc, dec, enc, dec) + logs.String()
	for _, secret := range []string{fmt.Sprintf("%X", start[:4]), fmt.Sprintf("%x", start[:4]), fmt.Sprint(start[0], " ", start[1])} {
		if strings.Contains(text, secret) {
			t.Fatalf("key material %q in %s", secret, text)
		}
	}
	if !strings.Contains(logs.String(), "REDACTED") || !strings.Contains(logs.String(), "128-bit") {
		t.Errorf("log line %q", logs.String())
	}
}

// TestErrorsDistinct: callers branch on the errors.
func TestErrorsDistinct(t *testing.T) {
	errs := []error{mppe.ErrShort, mppe.ErrNotEncrypted, mppe.ErrNotFlushed, mppe.ErrLate, mppe.ErrNeedReset}
	for i, a := range errs {
		for j, b := range errs {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

// TestResetRequestConcurrent: CCP calls ResetRequest beside the data path.
// Run with -race. Every packet stays decryptable, since a flushed packet
// in step is fine. (What ResetRequest does is pinned by
// TestStatefulLossAndReset and TestResetChangesKey; here only that it may
// race with Encrypt.)
func TestResetRequestConcurrent(t *testing.T) {
	enc, dec := newPair(t, testKey, 128, false)
	running := make(chan struct{})
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		enc.ResetRequest()
		close(running)
		for {
			select {
			case <-done:
				return
			default:
				enc.ResetRequest()
			}
		}
	}()
	<-running
	flushed := 0
	for i := range 3000 {
		msg := datagram(i, 100)
		packet := enc.Encrypt(nil, msg)
		if h, _ := mppe.ParseHeader(packet); h.Flushed() {
			flushed++
		}
		mustDecrypt(t, dec, packet, msg)
	}
	close(done)
	<-stopped
	if flushed == 0 {
		t.Error("no flushed packet after ResetRequest")
	}
	t.Logf("%d of 3000 packets flushed", flushed)
}
