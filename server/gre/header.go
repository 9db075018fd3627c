package gre

import "encoding/binary"

// Wire constants of the enhanced GRE header (RFC 2637 section 4.1).
const (
	// ProtocolType is the EtherType of PPP, carried in every PPTP GRE
	// header.
	ProtocolType = 0x880B

	// Version is the GRE version number PPTP uses ("Ver: Must contain 1
	// (enhanced GRE)").
	Version = 1

	// MinHeaderLength is the header without sequence or acknowledgment
	// number: flags and version, protocol type, and the key (payload
	// length and call id).
	MinHeaderLength = 8

	// MaxHeaderLength is the header with both optional numbers present.
	MaxHeaderLength = 16

	// MaxPayloadLength is the largest payload the 16-bit Payload Length
	// field can describe.
	MaxPayloadLength = 0xFFFF
)

// Bits of the first two octets, in the order the RFC draws them:
//
//	|C|R|K|S|s|Recur|A| Flags | Ver |
const (
	flagChecksum    = 0x80 // C, octet 0
	flagRouting     = 0x40 // R, octet 0
	flagKey         = 0x20 // K, octet 0
	flagSequence    = 0x10 // S, octet 0
	flagStrictRoute = 0x08 // s, octet 0
	maskRecur       = 0x07 // Recur, octet 0
	flagAck         = 0x80 // A, octet 1
	maskFlags       = 0x78 // Flags, octet 1
	maskVersion     = 0x07 // Ver, octet 1
)

// Header is the enhanced GRE header of one PPTP data packet.
//
// On the wire (RFC 2637 section 4.1):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Key (HW) Payload Length    |       Key (LW) Call ID        |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                  Sequence Number (Optional)                   |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|               Acknowledgment Number (Optional)                |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// C, R, s, Recur and Flags are zero, K is one, Ver is 1 and Protocol
// Type is 0x880B in every packet; Header keeps only what varies.
type Header struct {
	// PayloadLength is Key (HW): the octets of PPP payload that follow
	// the header.
	PayloadLength uint16

	// CallID is Key (LW): the Call ID the receiver of this packet
	// assigned to the session (the peer's Call ID from the sender's point
	// of view).
	CallID uint16

	// SequencePresent is the S bit. The RFC sets it exactly when the
	// packet carries payload; a packet without it is an acknowledgment
	// only.
	SequencePresent bool

	// SequenceNumber counts the sender's data packets of this session,
	// valid when SequencePresent.
	SequenceNumber uint32

	// AcknowledgmentPresent is the A bit (bit 8, the top bit of the
	// version octet).
	AcknowledgmentPresent bool

	// AcknowledgmentNumber is the highest sequence number the sender has
	// received in order from its peer, valid when AcknowledgmentPresent.
	AcknowledgmentNumber uint32
}

// Len returns the length of h on the wire: 8, 12 or 16 octets.
func (h Header) Len() int {
	n := MinHeaderLength
	if h.SequencePresent {
		n += 4
	}
	if h.AcknowledgmentPresent {
		n += 4
	}
	return n
}

// Append appends the encoding of h to b and returns the extended slice.
// PayloadLength is written as it is; AppendPacket fills it in from the
// payload. Append allocates only when b lacks the capacity.
func (h Header) Append(b []byte) []byte {
	f0 := byte(flagKey)
	if h.SequencePresent {
		f0 |= flagSequence
	}
	f1 := byte(Version)
	if h.AcknowledgmentPresent {
		f1 |= flagAck
	}
	b = append(b, f0, f1, ProtocolType>>8, ProtocolType&0xFF)
	b = binary.BigEndian.AppendUint16(b, h.PayloadLength)
	b = binary.BigEndian.AppendUint16(b, h.CallID)
	if h.SequencePresent {
		b = binary.BigEndian.AppendUint32(b, h.SequenceNumber)
	}
	if h.AcknowledgmentPresent {
		b = binary.BigEndian.AppendUint32(b, h.AcknowledgmentNumber)
	}
	return b
}

// AppendPacket appends a whole GRE packet, h followed by payload, to dst
// and returns the extended slice. It sets the Payload Length field from
// len(payload), whatever h.PayloadLength says.
//
// The RFC ties the S bit to the presence of payload, so AppendPacket
// panics when payload is not empty and h.SequencePresent is false, or
// when payload is longer than MaxPayloadLength: both are bugs in the
// caller, and the packet would be rejected by the peer (and by Parse).
func AppendPacket(dst []byte, h Header, payload []byte) []byte {
	if len(payload) > MaxPayloadLength {
		panic("gre: payload longer than 65535 octets")
	}
	if len(payload) > 0 && !h.SequencePresent {
		panic("gre: payload without sequence number")
	}
	h.PayloadLength = uint16(len(payload))
	dst = h.Append(dst)
	return append(dst, payload...)
}

// Parse decodes the enhanced GRE packet in b (the IP payload, starting at
// the GRE header) and returns its header and its payload, a sub-slice of
// b of exactly h.PayloadLength octets.
//
// Octets after the payload are ignored, as the Linux kernel's pptp driver
// ignores them: the IP layer may pad, and the Payload Length field is
// authoritative. Every other deviation from section 4.1 is an error of
// type ParseError; Parse never panics and allocates nothing, also when it
// fails.
func Parse(b []byte) (h Header, payload []byte, err error) {
	if len(b) < MinHeaderLength {
		return Header{}, nil, errTruncated
	}
	f0, f1 := b[0], b[1]
	if f1&maskVersion != Version {
		return Header{}, nil, errBadVersion
	}
	if binary.BigEndian.Uint16(b[2:4]) != ProtocolType {
		return Header{}, nil, errBadProtocolType
	}
	if f0&flagKey == 0 {
		return Header{}, nil, errNoKey
	}
	if f0&(flagChecksum|flagRouting|flagStrictRoute|maskRecur) != 0 || f1&maskFlags != 0 {
		return Header{}, nil, errBadFlags
	}
	h.PayloadLength = binary.BigEndian.Uint16(b[4:6])
	h.CallID = binary.BigEndian.Uint16(b[6:8])
	h.SequencePresent = f0&flagSequence != 0
	h.AcknowledgmentPresent = f1&flagAck != 0
	n := h.Len()
	if len(b) < n {
		return Header{}, nil, errTruncated
	}
	off := MinHeaderLength
	if h.SequencePresent {
		h.SequenceNumber = binary.BigEndian.Uint32(b[off : off+4])
		off += 4
	}
	if h.AcknowledgmentPresent {
		h.AcknowledgmentNumber = binary.BigEndian.Uint32(b[off : off+4])
	}
	if h.PayloadLength > 0 && !h.SequencePresent {
		return Header{}, nil, errPayloadWithoutSequence
	}
	end := n + int(h.PayloadLength)
	if len(b) < end {
		return Header{}, nil, errPayloadTruncated
	}
	return h, b[n:end:end], nil
}
