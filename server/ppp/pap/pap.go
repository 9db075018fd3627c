// Package pap is the Password Authentication Protocol of RFC 1334 section
// 2, the server's side: it reads Authenticate-Request packets and writes
// Authenticate-Ack and Authenticate-Nak.
//
// PAP sends the password in the clear and gives no MPPE keys; Gatehouse
// offers it only when the operator turns pptp.auth.pap on, and then only
// with pptp.mppe.required off (the session cannot be encrypted).
//
// The codec is pure: no I/O, no state. A Request's password is redacted
// by String, GoString and MarshalText.
package pap

import (
	"errors"
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// PAP packet codes (RFC 1334 section 2.2).
const (
	CodeAuthenticateRequest ppp.Code = 1
	CodeAuthenticateAck     ppp.Code = 2
	CodeAuthenticateNak     ppp.Code = 3
)

// Request is an Authenticate-Request.
type Request struct {
	Identifier uint8
	PeerID     string
	Password   string
}

// String redacts the password.
func (r Request) String() string {
	return fmt.Sprintf("{Identifier:%d PeerID:%q Password:REDACTED}", r.Identifier, r.PeerID)
}

// GoString redacts the password, for %#v.
func (r Request) GoString() string { return "pap.Request" + r.String() }

// MarshalText redacts the password, for log handlers and encoders (the
// codec stays free of log/slog; slog's handlers use this).
func (r Request) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Errors of ParseRequest.
var (
	ErrNotRequest = errors.New("pap: not an Authenticate-Request")
	ErrTruncated  = errors.New("pap: Authenticate-Request truncated")
)

// ParseRequest reads an Authenticate-Request from a PAP packet (the
// information field of a PPP frame of protocol 0xc023). Octets after the
// password, within the packet's Length, are ignored as RFC 1334 allows
// padding.
func ParseRequest(b []byte) (Request, error) {
	p, err := ppp.ParsePacket(b)
	if err != nil {
		return Request{}, fmt.Errorf("pap: %w", err)
	}
	if p.Code != CodeAuthenticateRequest {
		return Request{}, ErrNotRequest
	}
	d := p.Data
	if len(d) < 1 || len(d) < 1+int(d[0])+1 {
		return Request{}, ErrTruncated
	}
	id := string(d[1 : 1+d[0]])
	d = d[1+int(d[0]):]
	if len(d) < 1+int(d[0]) {
		return Request{}, ErrTruncated
	}
	return Request{Identifier: p.Identifier, PeerID: id, Password: string(d[1 : 1+d[0]])}, nil
}

// AppendRequest appends an Authenticate-Request (the client's side; for
// tests and tools). Peer-ID and password are cut to 255 octets.
func AppendRequest(dst []byte, r Request) []byte {
	id, pw := cut(r.PeerID), cut(r.Password)
	data := make([]byte, 0, 2+len(id)+len(pw))
	data = append(append(append(data, byte(len(id))), id...), byte(len(pw)))
	data = append(data, pw...)
	return ppp.Packet{Code: CodeAuthenticateRequest, Identifier: r.Identifier, Data: data}.Append(dst)
}

// AppendAck appends an Authenticate-Ack with msg (cut to 255 octets).
func AppendAck(dst []byte, id uint8, msg string) []byte {
	return appendReply(dst, CodeAuthenticateAck, id, msg)
}

// AppendNak appends an Authenticate-Nak with msg (cut to 255 octets).
func AppendNak(dst []byte, id uint8, msg string) []byte {
	return appendReply(dst, CodeAuthenticateNak, id, msg)
}

func appendReply(dst []byte, code ppp.Code, id uint8, msg string) []byte {
	m := cut(msg)
	data := append([]byte{byte(len(m))}, m...)
	return ppp.Packet{Code: code, Identifier: id, Data: data}.Append(dst)
}

func cut(s string) string {
	if len(s) > 255 {
		return s[:255]
	}
	return s
}
