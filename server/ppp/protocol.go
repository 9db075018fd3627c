package ppp

import "fmt"

// Protocol is the PPP Protocol field (RFC 1661 section 2): which
// protocol the Information field of a frame belongs to.
//
// Valid values are odd and have an even most significant octet: the
// least significant bit of the low octet is 1 and that of the high octet
// is 0. Values 0x0xxx to 0x3xxx are network-layer protocols, 0x8xxx to
// 0xbxxx their Network Control Protocols, and 0xcxxx to 0xfxxx link-layer
// control protocols such as LCP and the authentication protocols.
type Protocol uint16

// The protocols the PPTP server speaks or names in its logs. Assigned
// numbers from the IANA PPP DLL Protocol Numbers registry.
const (
	ProtoIP                 Protocol = 0x0021 // Internet Protocol version 4
	ProtoIPv6               Protocol = 0x0057 // Internet Protocol version 6
	ProtoCompressedDatagram Protocol = 0x00fd // a CCP-compressed (here: MPPE-encrypted) datagram, RFC 1962 section 2.1
	ProtoIPCP               Protocol = 0x8021 // IP Control Protocol, RFC 1332
	ProtoIPV6CP             Protocol = 0x8057 // IPv6 Control Protocol, RFC 5072
	ProtoCCP                Protocol = 0x80fd // Compression Control Protocol, RFC 1962
	ProtoLCP                Protocol = 0xc021 // Link Control Protocol, RFC 1661
	ProtoPAP                Protocol = 0xc023 // Password Authentication Protocol, RFC 1334
	ProtoLQR                Protocol = 0xc025 // Link Quality Report, RFC 1989
	ProtoCBCP               Protocol = 0xc029 // Microsoft Callback Control Protocol
	ProtoCHAP               Protocol = 0xc223 // Challenge Handshake Authentication Protocol, RFC 1994
	ProtoEAP                Protocol = 0xc227 // Extensible Authentication Protocol, RFC 3748
)

// Valid reports whether p has the form RFC 1661 section 2 requires: odd,
// with an even most significant octet. 0x00ff is also refused: RFC 1662
// section 3.2 reserves it so that a compressed Protocol field can never be
// mistaken for the Address octet 0xff.
func (p Protocol) Valid() bool {
	return p&0x0001 == 1 && p&0x0100 == 0 && p != 0x00ff
}

// String returns the protocol's short name ("LCP") or its number in
// hexadecimal.
func (p Protocol) String() string {
	switch p {
	case ProtoIP:
		return "IPv4"
	case ProtoIPv6:
		return "IPv6"
	case ProtoCompressedDatagram:
		return "Compressed-Datagram"
	case ProtoIPCP:
		return "IPCP"
	case ProtoIPV6CP:
		return "IPV6CP"
	case ProtoCCP:
		return "CCP"
	case ProtoLCP:
		return "LCP"
	case ProtoPAP:
		return "PAP"
	case ProtoLQR:
		return "LQR"
	case ProtoCBCP:
		return "CBCP"
	case ProtoCHAP:
		return "CHAP"
	case ProtoEAP:
		return "EAP"
	}
	return fmt.Sprintf("0x%04x", uint16(p))
}
