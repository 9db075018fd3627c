package lcp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// OptionType is the Type of an LCP Configuration Option.
type OptionType uint8

// LCP option types: RFC 1661 section 6, RFC 1662 section 7.1 (ACCM),
// RFC 1570 (FCS-Alternatives, Self-Describing-Padding, Callback,
// Compound-Frames) and RFC 1990 (Multilink).
const (
	OptMRU                 OptionType = 1
	OptACCM                OptionType = 2
	OptAuthProtocol        OptionType = 3
	OptQualityProtocol     OptionType = 4
	OptMagicNumber         OptionType = 5
	OptPFC                 OptionType = 7
	OptACFC                OptionType = 8
	OptFCSAlternatives     OptionType = 9
	OptSelfDescribingPad   OptionType = 10
	OptCallback            OptionType = 13
	OptCompoundFrames      OptionType = 15
	OptMRRU                OptionType = 17
	OptShortSequence       OptionType = 18
	OptEndpointDiscrimator OptionType = 19
)

var optionNames = map[OptionType]string{
	OptMRU:                 "Maximum-Receive-Unit",
	OptACCM:                "Async-Control-Character-Map",
	OptAuthProtocol:        "Authentication-Protocol",
	OptQualityProtocol:     "Quality-Protocol",
	OptMagicNumber:         "Magic-Number",
	OptPFC:                 "Protocol-Field-Compression",
	OptACFC:                "Address-and-Control-Field-Compression",
	OptFCSAlternatives:     "FCS-Alternatives",
	OptSelfDescribingPad:   "Self-Describing-Padding",
	OptCallback:            "Callback",
	OptCompoundFrames:      "Compound-Frames",
	OptMRRU:                "Multilink-MRRU",
	OptShortSequence:       "Multilink-Short-Sequence-Number-Header",
	OptEndpointDiscrimator: "Multilink-Endpoint-Discriminator",
}

func (t OptionType) String() string {
	if s, ok := optionNames[t]; ok {
		return s
	}
	return fmt.Sprintf("option %d", uint8(t))
}

// ErrOptionLength is wrapped by the errors of ParseOption for an option
// whose Length does not fit its type.
var ErrOptionLength = errors.New("wrong option length")

// Option is a decoded LCP option: one of MRU, ACCM, AuthProtocol,
// MagicNumber, PFC, ACFC, or Unknown for the others.
type Option interface {
	Type() OptionType
	// Append appends the encoded option, Type and Length included.
	Append(dst []byte) []byte
	String() string
}

// MRU is the Maximum-Receive-Unit option (RFC 1661 section 6.1): the
// largest Information field its sender can receive.
type MRU uint16

func (MRU) Type() OptionType { return OptMRU }
func (m MRU) Append(dst []byte) []byte {
	return ppp.AppendOption(dst, byte(OptMRU), byte(m>>8), byte(m))
}
func (m MRU) String() string { return fmt.Sprintf("MRU %d", uint16(m)) }

// ACCM is the Async-Control-Character-Map option (RFC 1662 section 7.1).
// It concerns asynchronous links only; PPTP accepts and ignores it.
type ACCM uint32

func (ACCM) Type() OptionType { return OptACCM }
func (a ACCM) Append(dst []byte) []byte {
	return ppp.AppendOption(dst, byte(OptACCM), byte(a>>24), byte(a>>16), byte(a>>8), byte(a))
}
func (a ACCM) String() string { return fmt.Sprintf("ACCM 0x%08x", uint32(a)) }

// AuthProtocol is the Authentication-Protocol option (RFC 1661 section
// 6.2): the protocol its sender wants the peer to authenticate with, and
// for CHAP the algorithm (RFC 1994 section 3, RFC 2433, RFC 2759).
type AuthProtocol struct {
	Protocol ppp.Protocol
	// Data follows the protocol: the CHAP algorithm, or nothing.
	Data []byte
}

func (AuthProtocol) Type() OptionType { return OptAuthProtocol }
func (a AuthProtocol) Append(dst []byte) []byte {
	dst = append(dst, byte(OptAuthProtocol), byte(4+len(a.Data)), byte(a.Protocol>>8), byte(a.Protocol))
	return append(dst, a.Data...)
}

// Method returns the authentication method the option names, or 0 when
// it names one this package does not know.
func (a AuthProtocol) Method() AuthMethod {
	switch {
	case a.Protocol == ppp.ProtoPAP && len(a.Data) == 0:
		return PAP
	case a.Protocol == ppp.ProtoCHAP && len(a.Data) == 1:
		switch a.Data[0] {
		case AlgorithmMD5:
			return CHAPMD5
		case AlgorithmMSCHAPv1:
			return MSCHAPv1
		case AlgorithmMSCHAPv2:
			return MSCHAPv2
		}
	}
	return 0
}

func (a AuthProtocol) String() string {
	if m := a.Method(); m != 0 {
		return "Authentication-Protocol " + m.String()
	}
	if a.Protocol == ppp.ProtoCHAP && len(a.Data) == 1 {
		return fmt.Sprintf("Authentication-Protocol CHAP algorithm 0x%02x", a.Data[0])
	}
	if len(a.Data) > 0 {
		return fmt.Sprintf("Authentication-Protocol %v [% x]", a.Protocol, a.Data)
	}
	return fmt.Sprintf("Authentication-Protocol %v", a.Protocol)
}

// MagicNumber is the Magic-Number option (RFC 1661 section 6.4).
type MagicNumber uint32

func (MagicNumber) Type() OptionType { return OptMagicNumber }
func (m MagicNumber) Append(dst []byte) []byte {
	return ppp.AppendOption(dst, byte(OptMagicNumber), byte(m>>24), byte(m>>16), byte(m>>8), byte(m))
}
func (m MagicNumber) String() string { return fmt.Sprintf("Magic-Number 0x%08x", uint32(m)) }

// PFC is the Protocol-Field-Compression option (RFC 1661 section 6.5):
// its sender can receive one-octet Protocol fields.
type PFC struct{}

func (PFC) Type() OptionType         { return OptPFC }
func (PFC) Append(dst []byte) []byte { return ppp.AppendOption(dst, byte(OptPFC)) }
func (PFC) String() string           { return "PFC" }

// ACFC is the Address-and-Control-Field-Compression option (RFC 1661
// section 6.6): its sender can receive frames without 0xff 0x03.
type ACFC struct{}

func (ACFC) Type() OptionType         { return OptACFC }
func (ACFC) Append(dst []byte) []byte { return ppp.AppendOption(dst, byte(OptACFC)) }
func (ACFC) String() string           { return "ACFC" }

// Unknown is an option this package does not decode (Callback,
// Multilink, ...), kept as sent.
type Unknown struct{ ppp.Option }

func (u Unknown) Type() OptionType         { return OptionType(u.Option.Type) }
func (u Unknown) Append(dst []byte) []byte { return u.Option.Append(dst) }
func (u Unknown) String() string {
	return fmt.Sprintf("%v [% x]", OptionType(u.Option.Type), u.Option.Data)
}

// ParseOption decodes one option. Options of the types this package
// knows must have their fixed length; any other type is returned as
// Unknown. Data of AuthProtocol and Unknown alias o.
func ParseOption(o ppp.Option) (Option, error) {
	t := OptionType(o.Type)
	want := -1
	switch t {
	case OptMRU:
		want = 2
	case OptACCM, OptMagicNumber:
		want = 4
	case OptPFC, OptACFC:
		want = 0
	case OptAuthProtocol:
		if len(o.Data) < 2 {
			return nil, fmt.Errorf("lcp: %v of %d octets, want at least 4: %w", t, o.Len(), ErrOptionLength)
		}
		return AuthProtocol{Protocol: ppp.Protocol(binary.BigEndian.Uint16(o.Data)), Data: o.Data[2:]}, nil
	default:
		return Unknown{o}, nil
	}
	if len(o.Data) != want {
		return nil, fmt.Errorf("lcp: %v of %d octets, want %d: %w", t, o.Len(), want+2, ErrOptionLength)
	}
	switch t {
	case OptMRU:
		return MRU(binary.BigEndian.Uint16(o.Data)), nil
	case OptACCM:
		return ACCM(binary.BigEndian.Uint32(o.Data)), nil
	case OptMagicNumber:
		return MagicNumber(binary.BigEndian.Uint32(o.Data)), nil
	case OptPFC:
		return PFC{}, nil
	default:
		return ACFC{}, nil
	}
}

// ParseOptions decodes the Options field of an LCP Configure packet.
func ParseOptions(b []byte) ([]Option, error) {
	return ppp.DecodeOptions(b, "lcp", ParseOption)
}

// AppendOptions encodes opts in order.
func AppendOptions(dst []byte, opts ...Option) []byte {
	for _, o := range opts {
		dst = o.Append(dst)
	}
	return dst
}
