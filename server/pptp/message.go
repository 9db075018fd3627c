package pptp

import (
	"encoding/binary"
	"strconv"
)

// Constants of the header every control message starts with (RFC 2637
// section 2):
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|            Length             |       PPTP Message Type       |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                         Magic Cookie                          |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Control Message Type      |           Reserved0           |
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
const (
	// HeaderLength is the length of the common header.
	HeaderLength = 12

	// MagicCookie is the constant every message carries; a receiver
	// checks it to make sure it is in step with the TCP byte stream.
	MagicCookie = 0x1A2B3C4D

	// MessageTypeControl is the PPTP Message Type of control messages,
	// the only kind RFC 2637 defines.
	MessageTypeControl = 1

	// ProtocolVersion is the Protocol Version of RFC 2637: version 1,
	// revision 0.
	ProtocolVersion = 0x0100

	// MinMessageLength is the length of the shortest control messages
	// (Stop-Control-Connection-Request and -Reply, Echo-Request and
	// Call-Clear-Request).
	MinMessageLength = 16

	// MaxMessageLength is the length of the longest control message,
	// the Incoming-Call-Request. Reader refuses anything longer.
	MaxMessageLength = 220

	// ControlPort is the TCP port of the control connection (section
	// 1.3.1).
	ControlPort = 1723
)

// prefixLength is how much of the header Reader needs to decide whether a
// message is acceptable: Length, PPTP Message Type, Magic Cookie and
// Control Message Type.
const prefixLength = 10

// ControlMessageType is the Control Message Type field (section 1.4).
type ControlMessageType uint16

// The control message types, numbered as in section 1.4.
const (
	TypeStartControlConnectionRequest ControlMessageType = iota + 1
	TypeStartControlConnectionReply
	TypeStopControlConnectionRequest
	TypeStopControlConnectionReply
	TypeEchoRequest
	TypeEchoReply
	TypeOutgoingCallRequest
	TypeOutgoingCallReply
	TypeIncomingCallRequest
	TypeIncomingCallReply
	TypeIncomingCallConnected
	TypeCallClearRequest
	TypeCallDisconnectNotify
	TypeWANErrorNotify
	TypeSetLinkInfo
)

var controlMessageTypes = [...]struct {
	name   string // as the RFC spells it
	abbrev string // the customary abbreviation (Wireshark's, pptpd's)
	length int    // Length of the whole message
}{
	TypeStartControlConnectionRequest: {"Start-Control-Connection-Request", "SCCRQ", 156},
	TypeStartControlConnectionReply:   {"Start-Control-Connection-Reply", "SCCRP", 156},
	TypeStopControlConnectionRequest:  {"Stop-Control-Connection-Request", "StopCCRQ", 16},
	TypeStopControlConnectionReply:    {"Stop-Control-Connection-Reply", "StopCCRP", 16},
	TypeEchoRequest:                   {"Echo-Request", "ECHORQ", 16},
	TypeEchoReply:                     {"Echo-Reply", "ECHORP", 20},
	TypeOutgoingCallRequest:           {"Outgoing-Call-Request", "OCRQ", 168},
	TypeOutgoingCallReply:             {"Outgoing-Call-Reply", "OCRP", 32},
	TypeIncomingCallRequest:           {"Incoming-Call-Request", "ICRQ", 220},
	TypeIncomingCallReply:             {"Incoming-Call-Reply", "ICRP", 24},
	TypeIncomingCallConnected:         {"Incoming-Call-Connected", "ICCN", 28},
	TypeCallClearRequest:              {"Call-Clear-Request", "CCRQ", 16},
	TypeCallDisconnectNotify:          {"Call-Disconnect-Notify", "CDN", 148},
	TypeWANErrorNotify:                {"WAN-Error-Notify", "WEN", 40},
	TypeSetLinkInfo:                   {"Set-Link-Info", "SLI", 24},
}

func (t ControlMessageType) known() bool {
	return t >= TypeStartControlConnectionRequest && int(t) < len(controlMessageTypes)
}

// String returns the RFC's name of t, such as "Outgoing-Call-Request".
func (t ControlMessageType) String() string {
	if t.known() {
		return controlMessageTypes[t].name
	}
	return "ControlMessageType(" + strconv.Itoa(int(t)) + ")"
}

// Abbrev returns the customary abbreviation of t, such as "OCRQ", or the
// number for an unknown type.
func (t ControlMessageType) Abbrev() string {
	if t.known() {
		return controlMessageTypes[t].abbrev
	}
	return strconv.Itoa(int(t))
}

// Length returns the Length of a message of type t (every control
// message has a fixed length), or 0 for an unknown type.
func (t ControlMessageType) Length() int {
	if t.known() {
		return controlMessageTypes[t].length
	}
	return 0
}

// Message is one control message. Its dynamic type is a pointer to one of
// the fifteen message structs of this package, named as in the RFC:
// *StartControlConnectionRequest, *EchoRequest, *SetLinkInfo and so on.
type Message interface {
	// ControlMessageType returns the type the message has on the wire.
	ControlMessageType() ControlMessageType

	// appendBody appends the fields after the common header.
	appendBody(b []byte) []byte
	// decode fills the message from m, a whole message of the right
	// length (header included, so offsets match the RFC's drawings).
	decode(m []byte)
}

func newMessage(t ControlMessageType) Message {
	switch t {
	case TypeStartControlConnectionRequest:
		return new(StartControlConnectionRequest)
	case TypeStartControlConnectionReply:
		return new(StartControlConnectionReply)
	case TypeStopControlConnectionRequest:
		return new(StopControlConnectionRequest)
	case TypeStopControlConnectionReply:
		return new(StopControlConnectionReply)
	case TypeEchoRequest:
		return new(EchoRequest)
	case TypeEchoReply:
		return new(EchoReply)
	case TypeOutgoingCallRequest:
		return new(OutgoingCallRequest)
	case TypeOutgoingCallReply:
		return new(OutgoingCallReply)
	case TypeIncomingCallRequest:
		return new(IncomingCallRequest)
	case TypeIncomingCallReply:
		return new(IncomingCallReply)
	case TypeIncomingCallConnected:
		return new(IncomingCallConnected)
	case TypeCallClearRequest:
		return new(CallClearRequest)
	case TypeCallDisconnectNotify:
		return new(CallDisconnectNotify)
	case TypeWANErrorNotify:
		return new(WANErrorNotify)
	case TypeSetLinkInfo:
		return new(SetLinkInfo)
	}
	return nil
}

// Append appends the encoding of m, header included, to b and returns the
// extended slice. Reserved fields are written as zero; strings are cut
// or padded with NULs to their field's size. Append allocates only when
// b lacks the capacity.
func Append(b []byte, m Message) []byte {
	t := m.ControlMessageType()
	b = binary.BigEndian.AppendUint16(b, uint16(t.Length()))
	b = binary.BigEndian.AppendUint16(b, MessageTypeControl)
	b = binary.BigEndian.AppendUint32(b, MagicCookie)
	b = binary.BigEndian.AppendUint16(b, uint16(t))
	b = append(b, 0, 0) // Reserved0
	return m.appendBody(b)
}

// Parse decodes b, which must hold exactly one whole control message.
//
// It checks, in this order, that b holds the header, the Magic Cookie,
// that PPTP Message Type is 1 (control), that the Control Message Type is
// one of the fifteen, that Length is that type's length, and that b holds
// exactly Length octets. Any failure is a ParseError whose Code says
// which. Reserved fields are not checked (section 2 asks senders to zero
// them; a receiver gains nothing by refusing a peer that does not).
// Parse never panics.
func Parse(b []byte) (Message, error) {
	if len(b) < HeaderLength {
		return nil, &ParseError{Code: ParseTruncated, Got: len(b), Want: HeaderLength}
	}
	t, n, err := checkPrefix(b)
	if err != nil {
		return nil, err
	}
	if len(b) < n {
		return nil, &ParseError{Code: ParseTruncated, Type: t, Got: len(b), Want: n}
	}
	if len(b) > n {
		return nil, &ParseError{Code: ParseTrailingData, Type: t, Got: len(b), Want: n}
	}
	m := newMessage(t)
	m.decode(b)
	return m, nil
}

// checkPrefix validates the first prefixLength octets of a message and
// returns its type and length. b must hold at least prefixLength octets.
func checkPrefix(b []byte) (ControlMessageType, int, error) {
	if c := binary.BigEndian.Uint32(b[4:8]); c != MagicCookie {
		return 0, 0, &ParseError{Code: ParseBadMagicCookie, Value: c}
	}
	if mt := binary.BigEndian.Uint16(b[2:4]); mt != MessageTypeControl {
		return 0, 0, &ParseError{Code: ParseBadMessageType, Value: uint32(mt)}
	}
	t := ControlMessageType(binary.BigEndian.Uint16(b[8:10]))
	if !t.known() {
		return 0, 0, &ParseError{Code: ParseUnknownControlMessageType, Value: uint32(t)}
	}
	n := int(binary.BigEndian.Uint16(b[0:2]))
	if n != t.Length() {
		return 0, 0, &ParseError{Code: ParseBadLength, Type: t, Got: n, Want: t.Length()}
	}
	return t, n, nil
}

// Field helpers. Offsets are from the start of the message, as in the
// RFC's drawings; callers have checked the length.

func u16(m []byte, off int) uint16 { return binary.BigEndian.Uint16(m[off : off+2]) }
func u32(m []byte, off int) uint32 { return binary.BigEndian.Uint32(m[off : off+4]) }

// str decodes a fixed-size string field: the octets up to the first NUL,
// or the whole field when it has none.
func str(m []byte, off, size int) string {
	f := m[off : off+size]
	for i, c := range f {
		if c == 0 {
			return string(f[:i])
		}
	}
	return string(f)
}

// appendStr appends s as a fixed-size string field of size octets: cut
// to size, padded with NULs.
func appendStr(b []byte, s string, size int) []byte {
	if len(s) > size {
		s = s[:size]
	}
	b = append(b, s...)
	for range size - len(s) {
		b = append(b, 0)
	}
	return b
}

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
