package ccp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// OptionType is the Type of a CCP Configuration Option (RFC 1962 section
// 4 and the IANA registry).
type OptionType uint8

// CCP option types the logs name.
const (
	OptOUI          OptionType = 0
	OptPredictor1   OptionType = 1
	OptPredictor2   OptionType = 2
	OptStacLZS      OptionType = 17
	OptMPPE         OptionType = 18 // Microsoft PPC: MPPC and MPPE, RFC 2118 and RFC 3078
	OptBSDCompress  OptionType = 21
	OptDeflateDraft OptionType = 24
	OptDeflate      OptionType = 26
)

func (t OptionType) String() string {
	switch t {
	case OptOUI:
		return "OUI"
	case OptPredictor1:
		return "Predictor-1"
	case OptPredictor2:
		return "Predictor-2"
	case OptStacLZS:
		return "Stac-LZS"
	case OptMPPE:
		return "MPPE"
	case OptBSDCompress:
		return "BSD-Compress"
	case OptDeflateDraft, OptDeflate:
		return "Deflate"
	}
	return fmt.Sprintf("option %d", uint8(t))
}

// Bits are the Supported Bits of the MPPE option (RFC 3078 section 2,
// RFC 2118 section 2), most significant octet first on the wire:
//
//	 3                   2                   1
//	 1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0 9 8 7 6 5 4 3 2 1 0
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|                       |H|                     |M|S|L|D|     |C|
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Bits uint32

// The Supported Bits.
const (
	MPPC      Bits = 0x00000001 // C: MPPC compression (RFC 2118); not supported
	Obsolete  Bits = 0x00000010 // D: obsolete, must not be set
	MPPE40    Bits = 0x00000020 // L: 40-bit session keys
	MPPE128   Bits = 0x00000040 // S: 128-bit session keys
	MPPE56    Bits = 0x00000080 // M: 56-bit session keys
	Stateless Bits = 0x01000000 // H: stateless mode, a new key for every packet

	// KeyLengths are the three key-length bits.
	KeyLengths = MPPE40 | MPPE56 | MPPE128
)

// KeyBits returns the strongest key length set: 128, 56, 40, or 0.
func (b Bits) KeyBits() int {
	switch {
	case b&MPPE128 != 0:
		return 128
	case b&MPPE56 != 0:
		return 56
	case b&MPPE40 != 0:
		return 40
	}
	return 0
}

// String describes the bits: "128-bit stateless", "40-bit 128-bit
// stateful MPPC", "none".
func (b Bits) String() string {
	var parts []string
	for _, k := range []struct {
		bit  Bits
		name string
	}{{MPPE40, "40-bit"}, {MPPE56, "56-bit"}, {MPPE128, "128-bit"}} {
		if b&k.bit != 0 {
			parts = append(parts, k.name)
		}
	}
	if b&KeyLengths != 0 {
		if b&Stateless != 0 {
			parts = append(parts, "stateless")
		} else {
			parts = append(parts, "stateful")
		}
	} else if b&Stateless != 0 {
		parts = append(parts, "H")
	}
	if b&MPPC != 0 {
		parts = append(parts, "MPPC")
	}
	if b&Obsolete != 0 {
		parts = append(parts, "D")
	}
	if rest := b &^ (KeyLengths | Stateless | MPPC | Obsolete); rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%08x", uint32(rest)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// ErrOptionLength is wrapped by ParseOption for an MPPE option that is
// not 6 octets long.
var ErrOptionLength = errors.New("wrong option length")

// Option is a decoded CCP option: MPPE or Unknown.
type Option interface {
	Type() OptionType
	// Append appends the encoded option, Type and Length included.
	Append(dst []byte) []byte
	String() string
}

// MPPE is the MPPE/MPPC option (type 18, length 6).
type MPPE struct{ Bits Bits }

func (MPPE) Type() OptionType { return OptMPPE }
func (m MPPE) Append(dst []byte) []byte {
	b := m.Bits
	return ppp.AppendOption(dst, byte(OptMPPE), byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}
func (m MPPE) String() string { return "MPPE " + m.Bits.String() }

func (m MPPE) option() ppp.Option {
	return ppp.Option{Type: byte(OptMPPE), Data: binary.BigEndian.AppendUint32(nil, uint32(m.Bits))}
}

// Unknown is any other compression option, kept as sent.
type Unknown struct{ ppp.Option }

func (u Unknown) Type() OptionType         { return OptionType(u.Option.Type) }
func (u Unknown) Append(dst []byte) []byte { return u.Option.Append(dst) }
func (u Unknown) String() string {
	return fmt.Sprintf("%v [% x]", OptionType(u.Option.Type), u.Option.Data)
}

// ParseOption decodes one option. Unknown's Data aliases o.
func ParseOption(o ppp.Option) (Option, error) {
	if OptionType(o.Type) != OptMPPE {
		return Unknown{o}, nil
	}
	if len(o.Data) != 4 {
		return nil, fmt.Errorf("ccp: MPPE option of %d octets, want 6: %w", o.Len(), ErrOptionLength)
	}
	return MPPE{Bits: Bits(binary.BigEndian.Uint32(o.Data))}, nil
}

// ParseOptions decodes the Options field of a CCP Configure packet.
func ParseOptions(b []byte) ([]Option, error) {
	return ppp.DecodeOptions(b, "ccp", ParseOption)
}

// AppendOptions encodes opts in order.
func AppendOptions(dst []byte, opts ...Option) []byte {
	for _, o := range opts {
		dst = o.Append(dst)
	}
	return dst
}
