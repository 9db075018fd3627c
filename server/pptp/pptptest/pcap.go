// Package pptptest helps tests of the PPTP packages check their bytes
// against Wireshark: it writes capture files (classic pcap, raw IPv4
// link type) with PPTP control messages inside TCP and GRE packets inside
// IPv4, and runs tshark over them.
//
// It is test support only: nothing outside _test.go files imports it.
package pptptest

import (
	"encoding/binary"
	"net/netip"
)

// LinkTypeIPv4 is LINKTYPE_IPV4 of the pcap link-type registry: each
// record is an IPv4 packet with no link-layer header.
const LinkTypeIPv4 = 228

// IP protocol numbers used here.
const (
	ProtocolTCP = 6
	ProtocolGRE = 47
)

// Pcap builds a capture file in memory. The zero Pcap is not ready: use
// NewPcap, which writes the file header.
type Pcap struct {
	buf  []byte
	n    uint32 // records so far; each is stamped n milliseconds after T0
	ipID uint16
}

// NewPcap starts a capture of link type LinkTypeIPv4.
func NewPcap() *Pcap {
	p := &Pcap{}
	// Global header: magic (microsecond timestamps), version 2.4,
	// thiszone, sigfigs, snaplen, network.
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0xA1B2C3D4)
	p.buf = binary.LittleEndian.AppendUint16(p.buf, 2)
	p.buf = binary.LittleEndian.AppendUint16(p.buf, 4)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 0)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, 65535)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, LinkTypeIPv4)
	return p
}

// Bytes returns the capture file so far.
func (p *Pcap) Bytes() []byte { return p.buf }

// Records returns the number of packets written.
func (p *Pcap) Records() int { return int(p.n) }

// AddRecord appends one packet record holding pkt, an IPv4 packet.
func (p *Pcap) AddRecord(pkt []byte) {
	const t0 = 1_700_000_000 // 2023-11-14, any fixed time will do
	usec := p.n * 1000
	p.buf = binary.LittleEndian.AppendUint32(p.buf, t0+usec/1_000_000)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, usec%1_000_000)
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(pkt)))
	p.buf = binary.LittleEndian.AppendUint32(p.buf, uint32(len(pkt)))
	p.buf = append(p.buf, pkt...)
	p.n++
}

// AddIPv4 appends an IPv4 packet from src to dst of the given protocol
// carrying payload.
func (p *Pcap) AddIPv4(src, dst netip.Addr, protocol uint8, payload []byte) {
	p.ipID++
	p.AddRecord(IPv4(src, dst, protocol, p.ipID, payload))
}

// IPv4 returns an IPv4 packet: a 20-octet header (no options, DF set,
// TTL 64, correct total length and header checksum) and payload.
func IPv4(src, dst netip.Addr, protocol uint8, id uint16, payload []byte) []byte {
	total := 20 + len(payload)
	h := make([]byte, 20, total)
	h[0] = 0x45 // version 4, IHL 5
	binary.BigEndian.PutUint16(h[2:], uint16(total))
	binary.BigEndian.PutUint16(h[4:], id)
	binary.BigEndian.PutUint16(h[6:], 0x4000) // DF
	h[8] = 64
	h[9] = protocol
	s, d := src.As4(), dst.As4()
	copy(h[12:16], s[:])
	copy(h[16:20], d[:])
	binary.BigEndian.PutUint16(h[10:], Checksum(h, 0))
	return append(h, payload...)
}

// Checksum returns the Internet checksum (RFC 1071) of b, starting from
// the partial sum initial.
func Checksum(b []byte, initial uint32) uint16 {
	sum := initial
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

// TCPConn writes the segments of one TCP connection into a Pcap, keeping
// both sides' sequence and acknowledgment numbers right so that Wireshark
// reassembles the stream.
type TCPConn struct {
	p              *Pcap
	client, server netip.AddrPort
	cseq, sseq     uint32 // next sequence number of each side
}

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// OpenTCP writes the three-way handshake of a connection from client to
// server and returns the connection.
func (p *Pcap) OpenTCP(client, server netip.AddrPort) *TCPConn {
	c := &TCPConn{p: p, client: client, server: server, cseq: 1000, sseq: 5000}
	c.segment(true, tcpSYN, nil)
	c.segment(false, tcpSYN|tcpACK, nil)
	c.segment(true, tcpACK, nil)
	return c
}

// FromClient writes one segment from the client carrying payload.
func (c *TCPConn) FromClient(payload []byte) { c.segment(true, tcpPSH|tcpACK, payload) }

// FromServer writes one segment from the server carrying payload.
func (c *TCPConn) FromServer(payload []byte) { c.segment(false, tcpPSH|tcpACK, payload) }

// Close writes FIN from the client, FIN from the server and the last ACK.
func (c *TCPConn) Close() {
	c.segment(true, tcpFIN|tcpACK, nil)
	c.segment(false, tcpFIN|tcpACK, nil)
	c.segment(true, tcpACK, nil)
}

func (c *TCPConn) segment(fromClient bool, flags byte, payload []byte) {
	src, dst := c.client, c.server
	seq, ack := &c.cseq, c.sseq
	if !fromClient {
		src, dst = c.server, c.client
		seq, ack = &c.sseq, c.cseq
	}
	if flags&tcpACK == 0 {
		ack = 0
	}
	seg := make([]byte, 20, 20+len(payload))
	binary.BigEndian.PutUint16(seg[0:], src.Port())
	binary.BigEndian.PutUint16(seg[2:], dst.Port())
	binary.BigEndian.PutUint32(seg[4:], *seq)
	binary.BigEndian.PutUint32(seg[8:], ack)
	seg[12] = 5 << 4 // data offset: 5 words, no options
	seg[13] = flags
	binary.BigEndian.PutUint16(seg[14:], 64240) // window
	seg = append(seg, payload...)
	binary.BigEndian.PutUint16(seg[16:], Checksum(seg, pseudoHeaderSum(src.Addr(), dst.Addr(), ProtocolTCP, len(seg))))
	c.p.AddIPv4(src.Addr(), dst.Addr(), ProtocolTCP, seg)

	*seq += uint32(len(payload))
	if flags&(tcpSYN|tcpFIN) != 0 {
		*seq++
	}
}

// pseudoHeaderSum is the partial checksum of the IPv4 pseudo-header that
// TCP and UDP checksums cover (RFC 9293 section 3.1).
func pseudoHeaderSum(src, dst netip.Addr, protocol uint8, length int) uint32 {
	s, d := src.As4(), dst.As4()
	var sum uint32
	sum += uint32(binary.BigEndian.Uint16(s[0:])) + uint32(binary.BigEndian.Uint16(s[2:]))
	sum += uint32(binary.BigEndian.Uint16(d[0:])) + uint32(binary.BigEndian.Uint16(d[2:]))
	sum += uint32(protocol)
	sum += uint32(length)
	return sum
}
