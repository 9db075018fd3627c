package ppp

import "errors"

// The Address and Control octets of RFC 1662 section 3.1: the
// All-Stations address and an Unnumbered Information frame.
const (
	AllStations = 0xff
	UI          = 0x03
)

// MaxFrameHeader is the longest header AppendFrame writes: Address,
// Control and a two-octet Protocol field.
const MaxFrameHeader = 4

// Errors of ParseFrame. They are sentinels so that parsing never
// allocates.
var (
	ErrShortFrame  = errors.New("ppp: frame too short for a protocol field")
	ErrBadControl  = errors.New("ppp: address 0xff not followed by control 0x03")
	ErrBadProtocol = errors.New("ppp: protocol field is not a valid protocol number")
)

// ParseFrame splits a PPP frame as PPTP carries it in GRE (RFC 2637
// section 4.4: HDLC-like framing without flags, transparency and FCS) into
// its protocol and Information field. info aliases b.
//
// It accepts every form a peer may send whatever was negotiated, as RFC
// 1661 sections 6.5 and 6.6 require of a receiver: the Address and Control
// octets 0xff 0x03 present or omitted (ACFC), and the Protocol field in
// two octets or, for values below 0x100, in one (PFC). Following RFC 1662
// section 3.2, a frame that begins with 0xff 0x03 has them; any other
// frame is taken to begin with the Protocol field. A frame that begins
// with 0xff followed by anything but 0x03 is refused, since no protocol
// number starts with 0xff.
//
// ParseFrame never allocates.
func ParseFrame(b []byte) (proto Protocol, info []byte, err error) {
	if len(b) > 0 && b[0] == AllStations {
		if len(b) < 2 || b[1] != UI {
			return 0, nil, ErrBadControl
		}
		b = b[2:]
	}
	proto, info, ok := SplitProtocol(b)
	switch {
	case !ok:
		return 0, nil, ErrShortFrame
	case !proto.Valid():
		return 0, nil, ErrBadProtocol
	}
	return proto, info, nil
}

// SplitProtocol splits b, which begins with a Protocol field, into the
// protocol (one octet when compressed, RFC 1661 section 6.5) and the
// information after it; ok is false when b is too short. It does not
// check that the protocol number is valid: ParseFrame does, and MPPE's
// receiver judges a decrypted one itself.
func SplitProtocol(b []byte) (proto Protocol, info []byte, ok bool) {
	if len(b) == 0 {
		return 0, nil, false
	}
	if b[0]&1 == 1 {
		return Protocol(b[0]), b[1:], true
	}
	if len(b) < 2 {
		return 0, nil, false
	}
	return Protocol(b[0])<<8 | Protocol(b[1]), b[2:], true
}

// AppendFrame appends a PPP frame carrying info to dst. acfc and pfc say
// whether the peer accepted Address-and-Control-Field-Compression and
// Protocol-Field-Compression (it asked for them in its LCP
// Configure-Request and we acknowledged).
//
// LCP packets are always sent with the Address and Control octets, as RFC
// 1661 section 6.6 requires, whatever acfc says; the Protocol field is
// compressed only for protocols below 0x100 (section 6.5), which excludes
// every control protocol. AppendFrame does not allocate when dst has room
// for MaxFrameHeader+len(info) more octets.
func AppendFrame(dst []byte, proto Protocol, info []byte, acfc, pfc bool) []byte {
	if !acfc || proto == ProtoLCP {
		dst = append(dst, AllStations, UI)
	}
	if pfc && proto < 0x100 {
		dst = append(dst, byte(proto))
	} else {
		dst = append(dst, byte(proto>>8), byte(proto))
	}
	return append(dst, info...)
}

// DefaultMRU is the Maximum-Receive-Unit every PPP implementation starts
// with and must be able to receive (RFC 1661 section 6.1).
const DefaultMRU = 1500
