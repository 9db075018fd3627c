package gre_test

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/pptp/pptptest"
)

// TestTshark writes GRE packets built by AppendPacket into a capture,
// IPv4 protocol 47 around them, and asks Wireshark's dissector what it
// sees: no malformed packet or warning, the header fields we encoded, and
// inside, the PPP LCP Configure-Request we carried.
func TestTshark(t *testing.T) {
	pptptest.TsharkPath(t) // skip or fail before building anything
	client := netip.MustParseAddr("192.0.2.10")
	server := netip.MustParseAddr("198.51.100.1")

	type sent struct {
		h       gre.Header
		payload []byte
	}
	packets := []sent{
		{gre.Header{CallID: 0x1234, SequencePresent: true, SequenceNumber: 0}, lcpConfigureRequest},
		{gre.Header{CallID: 0x8001, SequencePresent: true, SequenceNumber: 0xffffffff,
			AcknowledgmentPresent: true, AcknowledgmentNumber: 0}, lcpConfigureRequest},
		{gre.Header{CallID: 0x1234, AcknowledgmentPresent: true, AcknowledgmentNumber: 0x7fffffff}, nil},
	}
	p := pptptest.NewPcap()
	for i, s := range packets {
		src, dst := client, server
		if i%2 == 1 {
			src, dst = server, client
		}
		p.AddIPv4(src, dst, pptptest.ProtocolGRE, gre.AppendPacket(nil, s.h, s.payload))
	}

	got := pptptest.Tshark(t, p.Bytes())
	if len(got) != len(packets) {
		t.Fatalf("tshark dissected %d packets, want %d", len(got), len(packets))
	}
	for i, s := range packets {
		d := got[i]
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			for _, problem := range d.Problems() {
				t.Errorf("tshark: %s", problem)
			}
			want := map[string]uint64{
				"gre.proto":              gre.ProtocolType,
				"gre.flags.version":      gre.Version,
				"gre.flags.key":          1,
				"gre.flags.checksum":     0,
				"gre.flags.routing":      0,
				"gre.key.payload_length": uint64(len(s.payload)),
				"gre.key.call_id":        uint64(s.h.CallID),
			}
			if s.h.SequencePresent {
				want["gre.sequence_number"] = uint64(s.h.SequenceNumber)
			}
			if s.h.AcknowledgmentPresent {
				want["gre.ack_number"] = uint64(s.h.AcknowledgmentNumber)
			}
			if len(s.payload) > 0 {
				want["ppp.code"] = 1 // Configure-Request
				want["ppp.identifier"] = 1
				want["lcp.opt.mru"] = 1500
				want["lcp.opt.magic_number"] = 0x12345678
			}
			for field, w := range want {
				if v, ok := d.Uint(field); !ok || v != w {
					s, _ := d.Get(field)
					t.Errorf("%s = %q, want %d", field, s, w)
				}
			}
			for field, present := range map[string]bool{
				"gre.sequence_number": s.h.SequencePresent,
				"gre.ack_number":      s.h.AcknowledgmentPresent,
			} {
				if _, ok := d.Get(field); ok != present {
					t.Errorf("%s shown = %v, want %v", field, ok, present)
				}
			}
			wantProto := "ip:gre"
			if len(s.payload) > 0 {
				wantProto = "ip:gre:ppp:lcp"
			}
			if got := d.Protocols(); got != wantProto {
				t.Errorf("frame.protocols = %q, want %q", got, wantProto)
			}
		})
	}
}
