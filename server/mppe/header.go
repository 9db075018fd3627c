package mppe

import (
	"encoding/binary"
	"strconv"
)

// Protocol is the PPP protocol number of an MPPE packet: 0x00FD,
// "compressed datagram" (RFC 3078 section 3). The PPP layer puts it in
// front of the header; it is not part of what Encrypt returns or Decrypt
// takes.
const Protocol = 0x00FD

// HeaderLen is the length of the MPPE header, the overhead MPPE adds to a
// datagram (RFC 3078 section 3.1: "the MPPE scheme does not expand or
// compress data").
const HeaderLen = 2

// CoherencyCountSpace is the number of coherency count values: the count
// is 12 bits wide and goes from 4095 back to 0 (RFC 3078 section 3.1).
const CoherencyCountSpace = 4096

// Window is how far ahead of the last packet a packet's coherency count
// may be for Decrypt to accept it: 1 to 2048, so up to 2047 packets may be
// lost in a row. A count 0 or 2049 to 4095 ahead is behind, not ahead: the
// packet is late or a duplicate, and Decrypt refuses it with [ErrLate].
//
// A 12-bit count cannot tell "2049 ahead" from "2047 behind"; half the
// count space is where the guess changes sides (Linux's ppp_mppe draws the
// line at the same place). It also bounds the work one packet can cause:
// at most 2048 key changes in stateless mode, at most 9 in stateful mode (8 flag packets and a flush).
const Window = CoherencyCountSpace / 2

// Header is the 16-bit MPPE header of RFC 3078 section 3.1, in host order:
// the A, B, C and D bits and the 12-bit coherency count.
//
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|A|B|C|D|    Coherency Count    |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Header uint16

// The bits of the header (RFC 3078 section 3.1).
const (
	// FlagFlushed is bit A, the FLUSHED bit: the sender initialised its
	// RC4 tables before this packet, and the receiver must initialise
	// its own with the current session key before decrypting it. It is
	// set on every packet in stateless mode; in stateful mode on the
	// "flag" packets (key changes) and on the first packet after a CCP
	// Reset-Request.
	FlagFlushed Header = 0x8000
	// FlagB is bit B. It has no significance in MPPE (MPPC uses it);
	// Encrypt sends it as 0 and Decrypt ignores it.
	FlagB Header = 0x4000
	// FlagC is bit C. It has no significance in MPPE (MPPC uses it);
	// Encrypt sends it as 0 and Decrypt ignores it.
	FlagC Header = 0x2000
	// FlagEncrypted is bit D: the packet is encrypted. Decrypt refuses
	// packets without it.
	FlagEncrypted Header = 0x1000

	coherencyMask = 0x0FFF
)

// ParseHeader returns the header at the start of an MPPE packet (the PPP
// information field of a protocol 0x00FD frame). It fails with [ErrShort]
// if b is shorter than [HeaderLen].
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return 0, ErrShort
	}
	return Header(binary.BigEndian.Uint16(b)), nil
}

// Append appends the header to b, most significant octet first.
func (h Header) Append(b []byte) []byte {
	return binary.BigEndian.AppendUint16(b, uint16(h))
}

// Flushed reports bit A, the FLUSHED bit.
func (h Header) Flushed() bool { return h&FlagFlushed != 0 }

// Encrypted reports bit D.
func (h Header) Encrypted() bool { return h&FlagEncrypted != 0 }

// CoherencyCount is the packet's 12-bit coherency count.
func (h Header) CoherencyCount() uint16 { return uint16(h) & coherencyMask }

// String returns the set bits by letter and the count, such as "A-D 255"
// or "---D 17", for debug logs.
func (h Header) String() string {
	b := []byte("----")
	for i, c := range "ABCD" {
		if h&(FlagFlushed>>i) != 0 {
			b[i] = byte(c)
		}
	}
	b = append(b, ' ')
	return string(strconv.AppendUint(b, uint64(h.CoherencyCount()), 10))
}

// isFlagPacket reports whether cc is the count of a stateful "flag"
// packet, whose low-order octet is 0xFF: the sender changes its key before
// it (RFC 3078 section 7.2).
func isFlagPacket(cc uint16) bool { return cc&0xFF == 0xFF }

// flagPackets is the number of flag packets among the delta counts after
// last: last+1 to last+delta, modulo 4096. 4096 is a multiple of 256, so
// the counts can be taken without the wrap.
func flagPackets(last uint16, delta uint16) int {
	first, end := int(last)+1, int(last)+int(delta)+1
	return end/256 - first/256
}
