package pptptest

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"testing"
)

func TestChecksum(t *testing.T) {
	// The IPv4 header of the usual worked example, checksum zeroed.
	h, _ := hex.DecodeString("450000730000400040110000c0a80001c0a800c7")
	if got := Checksum(h, 0); got != 0xb861 {
		t.Fatalf("Checksum = %#04x, want 0xb861", got)
	}
	binary.BigEndian.PutUint16(h[10:], 0xb861)
	if got := Checksum(h, 0); got != 0 {
		t.Fatalf("Checksum over a header with its checksum = %#04x, want 0", got)
	}
	if got := Checksum([]byte{0x01}, 0); got != 0xfeff {
		t.Fatalf("odd length: %#04x, want 0xfeff", got)
	}
}

func TestPcapLayout(t *testing.T) {
	p := NewPcap()
	if len(p.Bytes()) != 24 || binary.LittleEndian.Uint32(p.Bytes()[20:]) != LinkTypeIPv4 {
		t.Fatalf("global header % x", p.Bytes())
	}
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	p.AddIPv4(a, b, ProtocolGRE, []byte{1, 2, 3})
	rec := p.Bytes()[24:]
	if n := binary.LittleEndian.Uint32(rec[8:]); n != 23 || binary.LittleEndian.Uint32(rec[12:]) != 23 {
		t.Fatalf("record lengths % x, want 23", rec[8:16])
	}
	ip := rec[16:]
	if binary.BigEndian.Uint16(ip[2:]) != 23 || ip[9] != ProtocolGRE || Checksum(ip[:20], 0) != 0 {
		t.Fatalf("IPv4 header % x", ip[:20])
	}
	if p.Records() != 1 {
		t.Fatalf("Records = %d", p.Records())
	}
}
