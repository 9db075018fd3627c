package ppp_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Frames as PPTP carries them in GRE: RFC 1662 section 3.1 without flag,
// transparency and FCS (RFC 2637 section 4.4), with and without ACFC and
// PFC (RFC 1661 sections 6.5 and 6.6).
func TestParseFrame(t *testing.T) {
	tests := []struct {
		name  string
		in    []byte
		proto ppp.Protocol
		info  []byte
		err   error
	}{
		{"LCP full", []byte{0xff, 0x03, 0xc0, 0x21, 0x01, 0x01, 0x00, 0x04}, ppp.ProtoLCP, []byte{0x01, 0x01, 0x00, 0x04}, nil},
		{"IP full", []byte{0xff, 0x03, 0x00, 0x21, 0x45}, ppp.ProtoIP, []byte{0x45}, nil},
		{"IP ACFC", []byte{0x00, 0x21, 0x45}, ppp.ProtoIP, []byte{0x45}, nil},
		{"IP PFC", []byte{0xff, 0x03, 0x21, 0x45}, ppp.ProtoIP, []byte{0x45}, nil},
		{"IP ACFC+PFC", []byte{0x21, 0x45}, ppp.ProtoIP, []byte{0x45}, nil},
		{"MPPE PFC", []byte{0xfd, 0x90, 0x00}, ppp.ProtoCompressedDatagram, []byte{0x90, 0x00}, nil},
		{"CCP ACFC", []byte{0x80, 0xfd, 0x0e, 0x01, 0x00, 0x04}, ppp.ProtoCCP, []byte{0x0e, 0x01, 0x00, 0x04}, nil},
		{"empty info", []byte{0xff, 0x03, 0x80, 0x21}, ppp.ProtoIPCP, []byte{}, nil},
		{"empty info PFC", []byte{0x21}, ppp.ProtoIP, []byte{}, nil},

		{"empty", nil, 0, nil, ppp.ErrShortFrame},
		{"address only", []byte{0xff}, 0, nil, ppp.ErrBadControl},
		{"address control only", []byte{0xff, 0x03}, 0, nil, ppp.ErrShortFrame},
		{"address bad control", []byte{0xff, 0x13, 0xc0, 0x21}, 0, nil, ppp.ErrBadControl},
		{"one even octet", []byte{0xc0}, 0, nil, ppp.ErrShortFrame},
		{"one even octet after ACF", []byte{0xff, 0x03, 0xc0}, 0, nil, ppp.ErrShortFrame},
		{"even low octet", []byte{0xc0, 0x20, 0x01}, 0, nil, ppp.ErrBadProtocol},
		// An odd first octet is always a compressed Protocol field:
		// 01 21 is protocol 0x0001 followed by 0x21, never 0x0121.
		{"odd first octet is PFC", []byte{0x01, 0x21}, 0x0001, []byte{0x21}, nil},
		{"reserved 0x00ff", []byte{0x00, 0xff, 0x01}, 0, nil, ppp.ErrBadProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proto, info, err := ppp.ParseFrame(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if proto != tt.proto || !bytes.Equal(info, tt.info) {
				t.Errorf("got %v [% x], want %v [% x]", proto, info, tt.proto, tt.info)
			}
		})
	}
}

func TestAppendFrame(t *testing.T) {
	info := []byte{0xaa, 0xbb}
	tests := []struct {
		name      string
		proto     ppp.Protocol
		acfc, pfc bool
		want      []byte
	}{
		{"IP plain", ppp.ProtoIP, false, false, []byte{0xff, 0x03, 0x00, 0x21, 0xaa, 0xbb}},
		{"IP ACFC", ppp.ProtoIP, true, false, []byte{0x00, 0x21, 0xaa, 0xbb}},
		{"IP PFC", ppp.ProtoIP, false, true, []byte{0xff, 0x03, 0x21, 0xaa, 0xbb}},
		{"IP both", ppp.ProtoIP, true, true, []byte{0x21, 0xaa, 0xbb}},
		{"MPPE both", ppp.ProtoCompressedDatagram, true, true, []byte{0xfd, 0xaa, 0xbb}},
		{"IPCP PFC not applicable", ppp.ProtoIPCP, true, true, []byte{0x80, 0x21, 0xaa, 0xbb}},
		// RFC 1661 section 6.6: never compress the address and
		// control fields of LCP packets.
		{"LCP never compressed", ppp.ProtoLCP, true, true, []byte{0xff, 0x03, 0xc0, 0x21, 0xaa, 0xbb}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ppp.AppendFrame([]byte{0x55}, tt.proto, info, tt.acfc, tt.pfc)
			if !bytes.Equal(got[1:], tt.want) || got[0] != 0x55 {
				t.Errorf("got [% x], want 55 [% x]", got, tt.want)
			}
			proto, back, err := ppp.ParseFrame(got[1:])
			if err != nil || proto != tt.proto || !bytes.Equal(back, info) {
				t.Errorf("round trip: %v [% x] %v", proto, back, err)
			}
		})
	}
}

func TestProtocolValid(t *testing.T) {
	for _, p := range []ppp.Protocol{ppp.ProtoIP, ppp.ProtoLCP, ppp.ProtoCHAP, ppp.ProtoCCP, ppp.ProtoCompressedDatagram, 0x0001} {
		if !p.Valid() {
			t.Errorf("%v not valid", p)
		}
	}
	for _, p := range []ppp.Protocol{0x0000, 0x0020, 0x0121, 0xc020, 0x00ff, 0xffff} {
		if p.Valid() {
			t.Errorf("%v valid", p)
		}
	}
	if got := ppp.Protocol(0x8057).String(); got != "IPV6CP" {
		t.Errorf("String = %q", got)
	}
	if got := ppp.Protocol(0x1234).String(); got != "0x1234" {
		t.Errorf("String = %q", got)
	}
}

// The frame codec sits on the data path: it must not allocate.
func TestFrameAllocs(t *testing.T) {
	frame := []byte{0xff, 0x03, 0x00, 0xfd, 0x90, 0x01, 0x02, 0x03}
	buf := make([]byte, 0, 64)
	var sink ppp.Protocol
	allocs := testing.AllocsPerRun(1000, func() {
		proto, info, err := ppp.ParseFrame(frame)
		if err != nil {
			t.Fatal(err)
		}
		sink = proto
		buf = ppp.AppendFrame(buf[:0], proto, info, true, true)
		if _, _, err := ppp.ParseFrame(nil); err == nil {
			t.Fatal("no error")
		}
	})
	if allocs != 0 {
		t.Errorf("ParseFrame+AppendFrame: %v allocs per run, want 0", allocs)
	}
	_ = sink
}

func BenchmarkParseFrame(b *testing.B) {
	frame := []byte{0x21, 0x45, 0x00, 0x00, 0x54}
	for b.Loop() {
		_, _, _ = ppp.ParseFrame(frame)
	}
}
