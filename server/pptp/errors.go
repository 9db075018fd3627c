package pptp

import (
	"fmt"
	"strconv"
)

// ParseErrorCode says why Parse or Reader rejected a message. The server
// loop branches on it: every code means the byte stream cannot be trusted
// any more, and section 3.1 leaves nothing to do but close the control
// connection (after a Stop-Control-Connection-Request with General Error
// Bad-Format, if it wants to be polite).
type ParseErrorCode uint8

const (
	// ParseTruncated: fewer octets than the header, or than the Length
	// field says. Reader reports a stream that ends inside a message as
	// io.ErrUnexpectedEOF instead.
	ParseTruncated ParseErrorCode = iota + 1
	// ParseBadMagicCookie: the Magic Cookie is not 0x1A2B3C4D. Either
	// the peer does not speak PPTP or the stream is out of step.
	ParseBadMagicCookie
	// ParseBadMessageType: PPTP Message Type is not 1 (control).
	ParseBadMessageType
	// ParseUnknownControlMessageType: the Control Message Type is not
	// one of the fifteen of section 1.4.
	ParseUnknownControlMessageType
	// ParseBadLength: the Length field is not the length of the control
	// message type. Every control message has a fixed length, so this
	// also rejects anything longer than MaxMessageLength.
	ParseBadLength
	// ParseTrailingData: Parse was given more octets than the Length
	// field says; it takes exactly one message.
	ParseTrailingData
)

var parseErrorCodeNames = [...]string{
	ParseTruncated:                 "truncated",
	ParseBadMagicCookie:            "bad magic cookie",
	ParseBadMessageType:            "bad PPTP message type",
	ParseUnknownControlMessageType: "unknown control message type",
	ParseBadLength:                 "bad length for the message type",
	ParseTrailingData:              "data after the message",
}

// String returns a short description of c.
func (c ParseErrorCode) String() string {
	return enumString(c, parseErrorCodeNames[:], "ParseErrorCode")
}

// ParseError is the error Parse and Reader return for a message that is
// not a well-formed control message. Use errors.As to get the Code.
type ParseError struct {
	Code ParseErrorCode

	// Type is the Control Message Type when it was known.
	Type ControlMessageType

	// Got and Want are lengths: for ParseTruncated and ParseTrailingData
	// the octets there were and the octets the message needs; for
	// ParseBadLength the Length field and the length of Type.
	Got, Want int

	// Value is the offending field for ParseBadMagicCookie,
	// ParseBadMessageType and ParseUnknownControlMessageType.
	Value uint32
}

func (e *ParseError) Error() string {
	switch e.Code {
	case ParseBadMagicCookie:
		return fmt.Sprintf("pptp: bad magic cookie %#08x, want %#08x", e.Value, MagicCookie)
	case ParseBadMessageType:
		return fmt.Sprintf("pptp: PPTP message type %d, want %d (control)", e.Value, MessageTypeControl)
	case ParseUnknownControlMessageType:
		return fmt.Sprintf("pptp: unknown control message type %d", e.Value)
	case ParseBadLength:
		return fmt.Sprintf("pptp: %v: length %d, want %d", e.Type, e.Got, e.Want)
	case ParseTruncated, ParseTrailingData:
		what := "message"
		if e.Type != 0 {
			what = e.Type.String()
		}
		return fmt.Sprintf("pptp: %s: %v: %d octets, want %d", what, e.Code, e.Got, e.Want)
	}
	return "pptp: " + e.Code.String()
}

// enumString returns names[v], or typ(v) when v has no name.
func enumString[T ~uint8 | ~uint16 | ~uint32](v T, names []string, typ string) string {
	if uint64(v) < uint64(len(names)) && names[v] != "" {
		return names[v]
	}
	return typ + "(" + strconv.FormatUint(uint64(v), 10) + ")"
}
