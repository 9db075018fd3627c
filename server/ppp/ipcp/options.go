package ipcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// OptionType is the Type of an IPCP Configuration Option.
type OptionType uint8

// IPCP option types: RFC 1332 section 3 (RFC 1172 for the deprecated
// IP-Addresses) and RFC 1877 section 1.
const (
	OptIPAddresses        OptionType = 1
	OptIPCompression      OptionType = 2
	OptIPAddress          OptionType = 3
	OptPrimaryDNS         OptionType = 129
	OptPrimaryNBNS        OptionType = 130
	OptSecondaryDNS       OptionType = 131
	OptSecondaryNBNS      OptionType = 132
	vjCompressionProtocol            = 0x002d // Van Jacobson TCP/IP header compression
)

func (t OptionType) String() string {
	switch t {
	case OptIPAddresses:
		return "IP-Addresses"
	case OptIPCompression:
		return "IP-Compression-Protocol"
	case OptIPAddress:
		return "IP-Address"
	case OptPrimaryDNS:
		return "Primary-DNS-Address"
	case OptPrimaryNBNS:
		return "Primary-NBNS-Address"
	case OptSecondaryDNS:
		return "Secondary-DNS-Address"
	case OptSecondaryNBNS:
		return "Secondary-NBNS-Address"
	}
	return fmt.Sprintf("option %d", uint8(t))
}

// ErrOptionLength is wrapped by the errors of ParseOption for an option
// whose Length does not fit its type.
var ErrOptionLength = errors.New("wrong option length")

// Option is a decoded IPCP option: Address, IPAddresses,
// IPCompressionProtocol, or Unknown.
type Option interface {
	Type() OptionType
	// Append appends the encoded option, Type and Length included.
	Append(dst []byte) []byte
	String() string
}

// Address is one of the options that carry a single IPv4 address:
// IP-Address (RFC 1332 section 3.3) and the four of RFC 1877. 0.0.0.0
// asks the peer to supply the address.
type Address struct {
	Kind OptionType
	Addr netip.Addr
}

func (a Address) Type() OptionType { return a.Kind }
func (a Address) Append(dst []byte) []byte {
	b := a.Addr.As4()
	return ppp.AppendOption(dst, byte(a.Kind), b[:]...)
}
func (a Address) String() string { return fmt.Sprintf("%v %v", a.Kind, a.Addr) }

// IPAddresses is the deprecated IP-Addresses option (RFC 1172 section
// 5.1), which the server rejects.
type IPAddresses struct {
	Source, Destination netip.Addr
}

func (IPAddresses) Type() OptionType { return OptIPAddresses }
func (a IPAddresses) Append(dst []byte) []byte {
	s, d := a.Source.As4(), a.Destination.As4()
	return ppp.AppendOption(dst, byte(OptIPAddresses), s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3])
}
func (a IPAddresses) String() string {
	return fmt.Sprintf("IP-Addresses %v %v", a.Source, a.Destination)
}

// IPCompressionProtocol is the IP-Compression-Protocol option (RFC 1332
// section 3.2), in practice Van Jacobson compression (0x002d). The
// server rejects it: MPPE encrypts headers and all.
type IPCompressionProtocol struct {
	Protocol uint16
	Data     []byte
}

func (IPCompressionProtocol) Type() OptionType { return OptIPCompression }
func (c IPCompressionProtocol) Append(dst []byte) []byte {
	dst = append(dst, byte(OptIPCompression), byte(4+len(c.Data)), byte(c.Protocol>>8), byte(c.Protocol))
	return append(dst, c.Data...)
}
func (c IPCompressionProtocol) String() string {
	if c.Protocol == vjCompressionProtocol {
		return fmt.Sprintf("IP-Compression-Protocol Van-Jacobson [% x]", c.Data)
	}
	return fmt.Sprintf("IP-Compression-Protocol 0x%04x [% x]", c.Protocol, c.Data)
}

// Unknown is an option this package does not decode, kept as sent.
type Unknown struct{ ppp.Option }

func (u Unknown) Type() OptionType         { return OptionType(u.Option.Type) }
func (u Unknown) Append(dst []byte) []byte { return u.Option.Append(dst) }
func (u Unknown) String() string {
	return fmt.Sprintf("%v [% x]", OptionType(u.Option.Type), u.Option.Data)
}

// ParseOption decodes one option. Data of IPCompressionProtocol and
// Unknown alias o.
func ParseOption(o ppp.Option) (Option, error) {
	t := OptionType(o.Type)
	switch t {
	case OptIPAddress, OptPrimaryDNS, OptPrimaryNBNS, OptSecondaryDNS, OptSecondaryNBNS:
		if len(o.Data) != 4 {
			return nil, fmt.Errorf("ipcp: %v of %d octets, want 6: %w", t, o.Len(), ErrOptionLength)
		}
		return Address{Kind: t, Addr: netip.AddrFrom4([4]byte(o.Data))}, nil
	case OptIPAddresses:
		if len(o.Data) != 8 {
			return nil, fmt.Errorf("ipcp: %v of %d octets, want 10: %w", t, o.Len(), ErrOptionLength)
		}
		return IPAddresses{Source: netip.AddrFrom4([4]byte(o.Data[:4])), Destination: netip.AddrFrom4([4]byte(o.Data[4:]))}, nil
	case OptIPCompression:
		if len(o.Data) < 2 {
			return nil, fmt.Errorf("ipcp: %v of %d octets, want at least 4: %w", t, o.Len(), ErrOptionLength)
		}
		return IPCompressionProtocol{Protocol: binary.BigEndian.Uint16(o.Data), Data: o.Data[2:]}, nil
	}
	return Unknown{o}, nil
}

// ParseOptions decodes the Options field of an IPCP Configure packet.
func ParseOptions(b []byte) ([]Option, error) {
	return ppp.DecodeOptions(b, "ipcp", ParseOption)
}

// AppendOptions encodes opts in order.
func AppendOptions(dst []byte, opts ...Option) []byte {
	for _, o := range opts {
		dst = o.Append(dst)
	}
	return dst
}
