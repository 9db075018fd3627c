package ppp_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Packets laid out as RFC 1661 section 5 draws them.
func TestParsePacket(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want ppp.Packet
		err  error
	}{
		{
			// Configure-Request, id 1, MRU 1400 and Magic-Number.
			name: "Configure-Request",
			in:   []byte{0x01, 0x01, 0x00, 0x0e, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78},
			want: ppp.Packet{Code: ppp.ConfigureRequest, Identifier: 1, Data: []byte{0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78}},
		},
		{
			name: "Terminate-Ack without data",
			in:   []byte{0x06, 0x07, 0x00, 0x04},
			want: ppp.Packet{Code: ppp.TerminateAck, Identifier: 7, Data: []byte{}},
		},
		{
			// Octets beyond Length are padding (RFC 1661 section 5).
			name: "padding ignored",
			in:   []byte{0x05, 0x02, 0x00, 0x05, 'x', 0, 0, 0},
			want: ppp.Packet{Code: ppp.TerminateRequest, Identifier: 2, Data: []byte{'x'}},
		},
		{name: "empty", in: nil, err: ppp.ErrShortPacket},
		{name: "three octets", in: []byte{0x01, 0x01, 0x00}, err: ppp.ErrShortPacket},
		{name: "length below header", in: []byte{0x01, 0x01, 0x00, 0x03}, err: ppp.ErrBadLength},
		{name: "length zero", in: []byte{0x01, 0x01, 0x00, 0x00, 0x00}, err: ppp.ErrBadLength},
		{name: "length beyond data", in: []byte{0x01, 0x01, 0x00, 0x08, 0x01, 0x04}, err: ppp.ErrBadLength},
		{name: "length 65535 short", in: []byte{0x09, 0x01, 0xff, 0xff, 0, 0, 0, 0}, err: ppp.ErrBadLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ppp.ParsePacket(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got.Code != tt.want.Code || got.Identifier != tt.want.Identifier || !bytes.Equal(got.Data, tt.want.Data) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			back := got.Append(nil)
			if !bytes.Equal(back, tt.in[:got.Len()]) {
				t.Errorf("Append = [% x], want [% x]", back, tt.in[:got.Len()])
			}
		})
	}
}

func TestPacketAppendTooLong(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	ppp.Packet{Code: ppp.EchoRequest, Data: make([]byte, ppp.MaxDataLen+1)}.Append(nil)
}

func TestCodeString(t *testing.T) {
	for c, want := range map[ppp.Code]string{
		ppp.ConfigureNak: "Configure-Nak", ppp.ProtocolReject: "Protocol-Reject",
		ppp.ResetAck: "Reset-Ack", 0: "Code(0)", 99: "Code(99)",
	} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q, want %q", uint8(c), got, want)
		}
	}
}

// RFC 1661 section 5.6: the Rejected-Packet is truncated to the peer's MRU.
func TestAppendCodeReject(t *testing.T) {
	rejected := []byte{0x0c, 0x05, 0x00, 0x0a, 1, 2, 3, 4, 5, 6}
	got := ppp.AppendCodeReject(nil, 3, rejected, 0)
	want := append([]byte{0x07, 0x03, 0x00, 0x0e}, rejected...)
	if !bytes.Equal(got, want) {
		t.Errorf("got [% x], want [% x]", got, want)
	}
	got = ppp.AppendCodeReject(nil, 3, rejected, 10)
	want = []byte{0x07, 0x03, 0x00, 0x0a, 0x0c, 0x05, 0x00, 0x0a, 1, 2}
	if !bytes.Equal(got, want) {
		t.Errorf("MRU 10: got [% x], want [% x]", got, want)
	}
	p, _ := ppp.ParsePacket(got)
	if code, err := ppp.ParseCodeReject(p.Data); err != nil || code != ppp.Identification {
		t.Errorf("ParseCodeReject = %v, %v", code, err)
	}
	if _, err := ppp.ParseCodeReject(nil); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("empty: %v", err)
	}
	big := ppp.AppendCodeReject(nil, 1, make([]byte, 70000), 100000)
	if len(big) != 0xffff {
		t.Errorf("huge Code-Reject is %d octets", len(big))
	}
}

// RFC 1661 section 5.7: Rejected-Protocol then Rejected-Information,
// truncated to the MRU.
func TestProtocolReject(t *testing.T) {
	info := []byte{0x01, 0x01, 0x00, 0x0a, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00}
	got := ppp.AppendProtocolReject(nil, 4, ppp.ProtoIPV6CP, info, 1500)
	want := append([]byte{0x08, 0x04, 0x00, 0x10, 0x80, 0x57}, info...)
	if !bytes.Equal(got, want) {
		t.Errorf("got [% x], want [% x]", got, want)
	}
	got = ppp.AppendProtocolReject(nil, 4, ppp.ProtoIPV6CP, info, 8)
	want = []byte{0x08, 0x04, 0x00, 0x08, 0x80, 0x57, 0x01, 0x01}
	if !bytes.Equal(got, want) {
		t.Errorf("MRU 8: got [% x], want [% x]", got, want)
	}
	p, _ := ppp.ParsePacket(got)
	proto, rest, err := ppp.ParseProtocolReject(p.Data)
	if err != nil || proto != ppp.ProtoIPV6CP || !bytes.Equal(rest, []byte{0x01, 0x01}) {
		t.Errorf("ParseProtocolReject = %v [% x] %v", proto, rest, err)
	}
	if _, _, err := ppp.ParseProtocolReject([]byte{0x80}); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

// RFC 1661 section 5.8: Magic-Number then Data.
func TestEcho(t *testing.T) {
	got := ppp.AppendEcho(nil, ppp.EchoRequest, 0x11, 0xdeadbeef, []byte("ok"))
	want := []byte{0x09, 0x11, 0x00, 0x0a, 0xde, 0xad, 0xbe, 0xef, 'o', 'k'}
	if !bytes.Equal(got, want) {
		t.Fatalf("got [% x], want [% x]", got, want)
	}
	p, _ := ppp.ParsePacket(got)
	magic, rest, err := ppp.ParseEcho(p.Data)
	if err != nil || magic != 0xdeadbeef || string(rest) != "ok" {
		t.Errorf("ParseEcho = %x %q %v", magic, rest, err)
	}
	if _, _, err := ppp.ParseEcho([]byte{1, 2, 3}); !errors.Is(err, ppp.ErrShortData) {
		t.Errorf("short: %v", err)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want []ppp.Option
		err  error
	}{
		{name: "empty", in: nil, want: nil},
		{
			name: "pppd-like LCP request",
			in:   []byte{0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78, 0x07, 0x02, 0x08, 0x02},
			want: []ppp.Option{
				{Type: 1, Data: []byte{0x05, 0x78}},
				{Type: 5, Data: []byte{0x12, 0x34, 0x56, 0x78}},
				{Type: 7, Data: []byte{}},
				{Type: 8, Data: []byte{}},
			},
		},
		{name: "lone type octet", in: []byte{0x07, 0x02, 0x08}, err: ppp.ErrShortOption},
		{name: "length zero", in: []byte{0x07, 0x00}, err: ppp.ErrOptionLength},
		{name: "length one", in: []byte{0x07, 0x01, 0x00}, err: ppp.ErrOptionLength},
		{name: "length past end", in: []byte{0x01, 0x04, 0x05}, err: ppp.ErrOptionLength},
		{name: "second past end", in: []byte{0x07, 0x02, 0x03, 0x06, 0xc2, 0x23, 0x81}, err: ppp.ErrOptionLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := ppp.ParseOptions(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			var got []ppp.Option
			var back []byte
			for o := range opts.All() {
				got = append(got, o)
				back = o.Append(back)
			}
			if !slices.EqualFunc(got, tt.want, func(a, b ppp.Option) bool {
				return a.Type == b.Type && bytes.Equal(a.Data, b.Data)
			}) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if !bytes.Equal(back, tt.in) {
				t.Errorf("round trip [% x], want [% x]", back, tt.in)
			}
		})
	}
}

func TestOptionsFindCount(t *testing.T) {
	opts, err := ppp.ParseOptions([]byte{0x81, 0x06, 8, 8, 8, 8, 0x03, 0x06, 0, 0, 0, 0, 0x81, 0x06, 1, 1, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if n := opts.Count(0x81); n != 2 {
		t.Errorf("Count = %d", n)
	}
	if o, ok := opts.Find(0x81); !ok || !bytes.Equal(o.Data, []byte{8, 8, 8, 8}) {
		t.Errorf("Find = %v %v", o, ok)
	}
	if _, ok := opts.Find(0x82); ok {
		t.Error("found 0x82")
	}
	// All stops at garbage in an unchecked sequence.
	n := 0
	for range ppp.Options([]byte{0x07, 0x02, 0x08, 0x09}).All() {
		n++
	}
	if n != 1 {
		t.Errorf("unchecked All yielded %d", n)
	}
	if got := (ppp.Option{Type: 13, Data: []byte{6}}).String(); got != "type 13 [06]" {
		t.Errorf("String = %q", got)
	}
}

func TestCodecAllocs(t *testing.T) {
	pktBytes := []byte{0x01, 0x01, 0x00, 0x0e, 0x01, 0x04, 0x05, 0x78, 0x05, 0x06, 0x12, 0x34, 0x56, 0x78}
	allocs := testing.AllocsPerRun(1000, func() {
		p, err := ppp.ParsePacket(pktBytes)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := ppp.ParseOptions(p.Data)
		if err != nil {
			t.Fatal(err)
		}
		for o := range opts.All() {
			_ = o
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocs per run, want 0", allocs)
	}
}
