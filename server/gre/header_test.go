package gre_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
)

// unhex decodes hex written with spaces between the fields.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lcpConfigureRequest is a PPP frame with address and control field: LCP
// Configure-Request, identifier 1, MRU 1500, Magic-Number 0x12345678.
var lcpConfigureRequest = []byte{
	0xff, 0x03, 0xc0, 0x21, // address, control, protocol LCP
	0x01, 0x01, 0x00, 0x0e, // Configure-Request, id 1, length 14
	0x01, 0x04, 0x05, 0xdc, // MRU 1500
	0x05, 0x06, 0x12, 0x34, 0x56, 0x78, // Magic-Number
}

// vectors are packets built by hand from the drawing in RFC 2637 section
// 4.1, octet by octet:
//
//	octet 0: C R K S s Recur    octet 1: A Flags(4) Ver(3)
var vectors = []struct {
	name    string
	wire    string
	header  gre.Header
	payload []byte
}{
	{
		name: "data with sequence number",
		wire: "30 01 88 0b  00 12 00 2a  00 00 00 07" +
			" ff 03 c0 21 01 01 00 0e 01 04 05 dc 05 06 12 34 56 78",
		// 0x30 = K|S, 0x01 = Ver 1; payload length 18, call id 42, seq 7
		header:  gre.Header{PayloadLength: 18, CallID: 42, SequencePresent: true, SequenceNumber: 7},
		payload: lcpConfigureRequest,
	},
	{
		name: "data with sequence and acknowledgment",
		wire: "30 81 88 0b  00 04 ff fe  80 00 00 01  ff ff ff ff  de ad be ef",
		// 0x81 = A|Ver 1
		header: gre.Header{
			PayloadLength: 4, CallID: 0xfffe,
			SequencePresent: true, SequenceNumber: 0x80000001,
			AcknowledgmentPresent: true, AcknowledgmentNumber: 0xffffffff,
		},
		payload: []byte{0xde, 0xad, 0xbe, 0xef},
	},
	{
		name: "acknowledgment only",
		// S clear: the acknowledgment number follows the key directly.
		wire:   "20 81 88 0b  00 00 00 05  00 00 01 00",
		header: gre.Header{CallID: 5, AcknowledgmentPresent: true, AcknowledgmentNumber: 256},
	},
	{
		name:   "key only",
		wire:   "20 01 88 0b  00 00 12 34",
		header: gre.Header{CallID: 0x1234},
	},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			wire := unhex(t, v.wire)
			h, payload, err := gre.Parse(wire)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if h != v.header {
				t.Errorf("Parse header = %+v, want %+v", h, v.header)
			}
			if !bytes.Equal(payload, v.payload) {
				t.Errorf("Parse payload = % x, want % x", payload, v.payload)
			}
			if got := v.header.Append(nil); !bytes.Equal(got, wire[:v.header.Len()]) {
				t.Errorf("Append = % x, want % x", got, wire[:v.header.Len()])
			}
			if got := gre.AppendPacket(nil, v.header, v.payload); !bytes.Equal(got, wire) {
				t.Errorf("AppendPacket = % x, want % x", got, wire)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	payload := bytes.Repeat([]byte{0xa5}, 1500)
	for _, seq := range []bool{false, true} {
		for _, ack := range []bool{false, true} {
			for _, n := range []int{0, 1, 1500} {
				if n > 0 && !seq {
					continue // the RFC sends no payload without a sequence number
				}
				h := gre.Header{
					CallID:                0xbeef,
					SequencePresent:       seq,
					SequenceNumber:        0x01020304,
					AcknowledgmentPresent: ack,
					AcknowledgmentNumber:  0xa0b0c0d0,
				}
				wire := gre.AppendPacket([]byte("prefix"), h, payload[:n])
				if !bytes.HasPrefix(wire, []byte("prefix")) {
					t.Fatalf("AppendPacket clobbered dst: % x", wire[:6])
				}
				wire = wire[6:]
				if len(wire) != h.Len()+n {
					t.Errorf("seq=%v ack=%v n=%d: length %d, want %d", seq, ack, n, len(wire), h.Len()+n)
				}
				got, p, err := gre.Parse(wire)
				if err != nil {
					t.Fatalf("seq=%v ack=%v n=%d: Parse: %v", seq, ack, n, err)
				}
				h.PayloadLength = uint16(n)
				if !seq {
					h.SequenceNumber = 0
				}
				if !ack {
					h.AcknowledgmentNumber = 0
				}
				if got != h || !bytes.Equal(p, payload[:n]) {
					t.Errorf("seq=%v ack=%v n=%d: got %+v (%d octets), want %+v", seq, ack, n, got, len(p), h)
				}
			}
		}
	}
}

func TestParseIgnoresOctetsAfterPayload(t *testing.T) {
	wire := unhex(t, "30 01 88 0b 00 02 00 01 00 00 00 09 aa bb cc dd")
	h, payload, err := gre.Parse(wire)
	if err != nil {
		t.Fatal(err)
	}
	if h.PayloadLength != 2 || !bytes.Equal(payload, []byte{0xaa, 0xbb}) {
		t.Fatalf("payload = % x, want aa bb", payload)
	}
	if cap(payload) != 2 {
		t.Errorf("cap(payload) = %d: appending to the payload would overwrite the padding", cap(payload))
	}
}

func TestParseMalformed(t *testing.T) {
	cases := []struct {
		name string
		wire string
		want gre.ParseErrorCode
	}{
		{"empty", "", gre.ParseTruncated},
		{"seven octets", "30 01 88 0b 00 00 00", gre.ParseTruncated},
		{"S set, no room for the sequence number", "30 01 88 0b 00 00 00 01", gre.ParseTruncated},
		{"S and A set, room for one number", "30 81 88 0b 00 00 00 01 00 00 00 01", gre.ParseTruncated},
		{"A set, no room for the acknowledgment", "20 81 88 0b 00 00 00 01 00 00", gre.ParseTruncated},
		{"version 0 (RFC 2784 GRE)", "30 00 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadVersion},
		{"version 2", "30 02 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadVersion},
		{"protocol type IPv4", "30 01 08 00 00 00 00 01 00 00 00 01", gre.ParseBadProtocolType},
		{"K clear", "10 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseNoKey},
		{"C set", "b0 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"R set", "70 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"strict source route set", "38 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"recursion control 1", "31 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"recursion control 7", "37 01 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"reserved flag bit 9", "30 41 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"reserved flag bit 12", "30 09 88 0b 00 00 00 01 00 00 00 01", gre.ParseBadFlags},
		{"payload without S", "20 01 88 0b 00 02 00 01 aa bb", gre.ParsePayloadWithoutSequence},
		{"payload length one too many", "30 01 88 0b 00 03 00 01 00 00 00 01 aa bb", gre.ParsePayloadTruncated},
		{"payload length 65535, none there", "30 81 88 0b ff ff 00 01 00 00 00 01 00 00 00 01", gre.ParsePayloadTruncated},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, payload, err := gre.Parse(unhex(t, c.wire))
			var pe gre.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %+v, %v; want ParseError %v", h, err, c.want)
			}
			if pe.Code != c.want {
				t.Errorf("Parse code = %v (%d), want %v (%d)", pe.Code, pe.Code, c.want, c.want)
			}
			if h != (gre.Header{}) || payload != nil {
				t.Errorf("Parse returned %+v, % x alongside an error", h, payload)
			}
			if !strings.HasPrefix(err.Error(), "gre: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestParseErrorCodeString(t *testing.T) {
	for c := gre.ParseTruncated; c <= gre.ParsePayloadTruncated; c++ {
		if s := c.String(); strings.HasPrefix(s, "ParseErrorCode(") {
			t.Errorf("code %d has no name", c)
		}
	}
	if s := gre.ParseErrorCode(200).String(); s != "ParseErrorCode(200)" {
		t.Errorf("unknown code String = %q", s)
	}
}

func TestAppendPacketPanicsOnCallerBugs(t *testing.T) {
	for name, f := range map[string]func(){
		"payload without S": func() { gre.AppendPacket(nil, gre.Header{}, []byte{1}) },
		"payload too long":  func() { gre.AppendPacket(nil, gre.Header{SequencePresent: true}, make([]byte, 65536)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

// The receive and send paths run per packet: Parse (on success and on
// failure), Append into a buffer with room, and AppendPacket allocate
// nothing.
func TestAllocations(t *testing.T) {
	good := gre.AppendPacket(nil, gre.Header{CallID: 1, SequencePresent: true, SequenceNumber: 1,
		AcknowledgmentPresent: true, AcknowledgmentNumber: 1}, lcpConfigureRequest)
	bad := append([]byte(nil), good...)
	bad[1] = 0x00 // version 0
	buf := make([]byte, 0, 2048)
	h := gre.Header{CallID: 9, SequencePresent: true, SequenceNumber: 10, AcknowledgmentPresent: true, AcknowledgmentNumber: 11}
	var sink int
	for name, f := range map[string]func(){
		"Parse":        func() { _, p, _ := gre.Parse(good); sink += len(p) },
		"Parse error":  func() { _, _, err := gre.Parse(bad); sink += len(err.(gre.ParseError).Code.String()) },
		"Append":       func() { sink += len(h.Append(buf[:0])) },
		"AppendPacket": func() { sink += len(gre.AppendPacket(buf[:0], h, lcpConfigureRequest)) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
	_ = sink
}

func BenchmarkParse(b *testing.B) {
	pkt := gre.AppendPacket(nil, gre.Header{CallID: 1, SequencePresent: true, SequenceNumber: 1,
		AcknowledgmentPresent: true, AcknowledgmentNumber: 1}, make([]byte, 1400))
	b.ReportAllocs() // no SetBytes: Parse does not touch the payload
	for b.Loop() {
		if _, _, err := gre.Parse(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPacket(b *testing.B) {
	payload := make([]byte, 1400)
	buf := make([]byte, 0, 2048)
	h := gre.Header{CallID: 1, SequencePresent: true, AcknowledgmentPresent: true}
	b.SetBytes(int64(h.Len() + len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		h.SequenceNumber++
		buf = gre.AppendPacket(buf[:0], h, payload)
	}
}
