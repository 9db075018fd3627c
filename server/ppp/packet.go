package ppp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Code is the Code field of a control-protocol packet (RFC 1661 section
// 5). LCP uses codes 1 to 11 (and 12, 13 from RFC 1570); IPCP uses 1 to 7
// (RFC 1332 section 2); CCP uses 1 to 7, 14 and 15 (RFC 1962 section 2).
type Code uint8

// Codes, named as in RFC 1661 section 5, RFC 1570 section 2 and RFC 1962
// section 3.1.
const (
	ConfigureRequest Code = 1
	ConfigureAck     Code = 2
	ConfigureNak     Code = 3
	ConfigureReject  Code = 4
	TerminateRequest Code = 5
	TerminateAck     Code = 6
	CodeReject       Code = 7
	ProtocolReject   Code = 8
	EchoRequest      Code = 9
	EchoReply        Code = 10
	DiscardRequest   Code = 11
	Identification   Code = 12 // RFC 1570 section 2.1
	TimeRemaining    Code = 13 // RFC 1570 section 2.2
	ResetRequest     Code = 14 // CCP, RFC 1962 section 3.1
	ResetAck         Code = 15 // CCP, RFC 1962 section 3.1
)

var codeNames = [...]string{
	ConfigureRequest: "Configure-Request",
	ConfigureAck:     "Configure-Ack",
	ConfigureNak:     "Configure-Nak",
	ConfigureReject:  "Configure-Reject",
	TerminateRequest: "Terminate-Request",
	TerminateAck:     "Terminate-Ack",
	CodeReject:       "Code-Reject",
	ProtocolReject:   "Protocol-Reject",
	EchoRequest:      "Echo-Request",
	EchoReply:        "Echo-Reply",
	DiscardRequest:   "Discard-Request",
	Identification:   "Identification",
	TimeRemaining:    "Time-Remaining",
	ResetRequest:     "Reset-Request",
	ResetAck:         "Reset-Ack",
}

func (c Code) String() string {
	if int(c) < len(codeNames) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// HeaderLen is the length of the Code, Identifier and Length fields.
const HeaderLen = 4

// MaxDataLen is the most Data a packet can carry: the Length field counts
// the header too and has 16 bits.
const MaxDataLen = 0xffff - HeaderLen

// Errors of the packet codecs.
var (
	ErrShortPacket = errors.New("ppp: packet shorter than its 4-octet header")
	ErrBadLength   = errors.New("ppp: packet Length field is below 4 or beyond the received octets")
	ErrShortData   = errors.New("ppp: packet data too short for its code")
)

// Packet is a control-protocol packet (RFC 1661 section 5): LCP, IPCP,
// CCP, and with their own codes CHAP and PAP, share this layout.
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Code      |  Identifier   |            Length             |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|    Data ...
//	+-+-+-+-+
type Packet struct {
	Code       Code
	Identifier uint8
	Data       []byte
}

// ParsePacket decodes the packet at the start of b. Data aliases b.
// Octets beyond the Length field are padding and are ignored, as RFC 1661
// section 5 requires; a Length beyond the end of b, or below the header's
// 4 octets, is an error. ParsePacket never allocates.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < HeaderLen {
		return Packet{}, ErrShortPacket
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < HeaderLen || n > len(b) {
		return Packet{}, ErrBadLength
	}
	return Packet{Code: Code(b[0]), Identifier: b[1], Data: b[HeaderLen:n]}, nil
}

// Len is the packet's Length field: header and Data.
func (p Packet) Len() int { return HeaderLen + len(p.Data) }

// Append appends the encoded packet to dst. It panics if Data is longer
// than MaxDataLen: every builder in this module truncates to the peer's
// MRU first, so a longer packet is a programming error.
func (p Packet) Append(dst []byte) []byte {
	if len(p.Data) > MaxDataLen {
		panic(fmt.Sprintf("ppp: %v data of %d octets exceeds %d", p.Code, len(p.Data), MaxDataLen))
	}
	n := p.Len()
	dst = append(dst, byte(p.Code), p.Identifier, byte(n>>8), byte(n))
	return append(dst, p.Data...)
}

// truncate cuts data so that a packet with extra octets of fixed fields
// before it fits in mru octets (at least the fixed fields).
func truncate(data []byte, extra, mru int) []byte {
	if mru <= 0 {
		mru = DefaultMRU
	}
	room := max(mru-HeaderLen-extra, 0)
	room = min(room, MaxDataLen-extra)
	if len(data) > room {
		data = data[:room]
	}
	return data
}

// AppendCodeReject appends a Code-Reject (RFC 1661 section 5.6) carrying
// the rejected packet, which starts at its Code field. The copy is
// truncated so that the Code-Reject fits in mru, the peer's MRU (0 means
// the default of 1500).
func AppendCodeReject(dst []byte, id uint8, rejected []byte, mru int) []byte {
	return Packet{Code: CodeReject, Identifier: id, Data: truncate(rejected, 0, mru)}.Append(dst)
}

// ParseCodeReject returns the code of the packet a Code-Reject rejects,
// from the Code-Reject's Data. The copy of the packet may be truncated,
// so only its first octet is required.
func ParseCodeReject(data []byte) (Code, error) {
	if len(data) < 1 {
		return 0, fmt.Errorf("Code-Reject: %w", ErrShortData)
	}
	return Code(data[0]), nil
}

// AppendProtocolReject appends an LCP Protocol-Reject (RFC 1661 section
// 5.7): the rejected protocol number followed by the Information field of
// the rejected frame, truncated to fit the peer's MRU (0 means 1500).
// RFC 1661 allows Protocol-Reject only in the LCP Opened state; the caller
// checks that.
func AppendProtocolReject(dst []byte, id uint8, rejected Protocol, info []byte, mru int) []byte {
	info = truncate(info, 2, mru)
	n := HeaderLen + 2 + len(info)
	dst = append(dst, byte(ProtocolReject), id, byte(n>>8), byte(n), byte(rejected>>8), byte(rejected))
	return append(dst, info...)
}

// ParseProtocolReject splits the Data of a Protocol-Reject into the
// rejected protocol and the (possibly truncated) rejected information.
func ParseProtocolReject(data []byte) (Protocol, []byte, error) {
	if len(data) < 2 {
		return 0, nil, fmt.Errorf("Protocol-Reject: %w", ErrShortData)
	}
	return Protocol(binary.BigEndian.Uint16(data)), data[2:], nil
}

// AppendEcho appends an Echo-Request, Echo-Reply or Discard-Request (RFC
// 1661 sections 5.8 and 5.9): the sender's Magic-Number, zero when none
// was negotiated, followed by data.
func AppendEcho(dst []byte, code Code, id uint8, magic uint32, data []byte) []byte {
	if len(data) > MaxDataLen-4 {
		data = data[:MaxDataLen-4]
	}
	n := HeaderLen + 4 + len(data)
	dst = append(dst, byte(code), id, byte(n>>8), byte(n))
	dst = binary.BigEndian.AppendUint32(dst, magic)
	return append(dst, data...)
}

// ParseEcho splits the Data of an Echo-Request, Echo-Reply or
// Discard-Request into the sender's Magic-Number and the rest.
func ParseEcho(data []byte) (magic uint32, rest []byte, err error) {
	if len(data) < 4 {
		return 0, nil, fmt.Errorf("echo: %w", ErrShortData)
	}
	return binary.BigEndian.Uint32(data), data[4:], nil
}
