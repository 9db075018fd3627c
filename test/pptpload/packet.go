package pptpload

import (
	"encoding/binary"
	"net/netip"
)

// The IPv4 packets the sessions send and count. They are built in place
// in the session's buffer: no allocation per packet.

const (
	ipv4HeaderLen = 20
	udpHeaderLen  = 8
	icmpHeaderLen = 8
	protoICMP     = 1
	protoUDP      = 17
)

// packetKind is what classify found in a received IPv4 packet.
type packetKind uint8

const (
	kindOther packetKind = iota
	kindEchoReply
	kindUDP
)

// classify tells an ICMP Echo Reply and a UDP datagram from the rest.
func classify(ip []byte) packetKind {
	if len(ip) < ipv4HeaderLen || ip[0]>>4 != 4 {
		return kindOther
	}
	ihl := int(ip[0]&0x0f) * 4
	if len(ip) < ihl+4 {
		return kindOther
	}
	switch ip[9] {
	case protoICMP:
		if ip[ihl] == 0 { // Echo Reply
			return kindEchoReply
		}
	case protoUDP:
		return kindUDP
	}
	return kindOther
}

// putIPv4Header writes a 20-octet IPv4 header for a packet of total
// octets, with its checksum.
func putIPv4Header(b []byte, total int, proto byte, id uint16, src, dst netip.Addr) {
	b[0], b[1] = 0x45, 0
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], id)
	b[6], b[7] = 0x40, 0 // DF
	b[8], b[9] = 64, proto
	b[10], b[11] = 0, 0
	s, d := src.As4(), dst.As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	binary.BigEndian.PutUint16(b[10:], checksum(b[:ipv4HeaderLen], 0))
}

// checksum is the Internet checksum (RFC 1071) of b, starting from sum.
func checksum(b []byte, sum uint32) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// PutUDP fills ip (its whole length) with an IPv4/UDP datagram from
// src:port to dst:port; the payload is left as it is, the UDP checksum
// is zero (none, as IPv4 allows).
func PutUDP(ip []byte, src, dst netip.Addr, port uint16, id uint16) {
	putIPv4Header(ip, len(ip), protoUDP, id, src, dst)
	u := ip[ipv4HeaderLen:]
	binary.BigEndian.PutUint16(u[0:], port)
	binary.BigEndian.PutUint16(u[2:], port)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	u[6], u[7] = 0, 0
}

// PutEchoRequest fills ip (its whole length) with an ICMP Echo Request
// from src to dst, identifier ident, sequence seq, with a zero payload.
func PutEchoRequest(ip []byte, src, dst netip.Addr, ident, seq uint16) {
	putIPv4Header(ip, len(ip), protoICMP, seq, src, dst)
	m := ip[ipv4HeaderLen:]
	clear(m)
	m[0] = 8 // Echo Request
	binary.BigEndian.PutUint16(m[4:], ident)
	binary.BigEndian.PutUint16(m[6:], seq)
	binary.BigEndian.PutUint16(m[2:], checksum(m, 0))
}
