// Package daetest plays the other side of package dae in tests: a
// Dynamic Authorization Client (a RADIUS server sending Disconnect- and
// CoA-Requests) that encodes requests and checks the answers.
package daetest

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	lr "layeh.com/radius"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/rfc3579"
	"github.com/gatehouse-vpn/gatehouse/server/radius/dae"
)

// Encode builds a request the way FreeRADIUS does (RFC 5176 sections 2.3
// and 3.4): the attributes, then, when withMA, a Message-Authenticator
// computed with a zero Authenticator field, then the Request
// Authenticator over the result.
func Encode(code lr.Code, id byte, attrs lr.Attributes, secret []byte, withMA bool) ([]byte, error) {
	p := &lr.Packet{Code: code, Identifier: id, Secret: secret}
	p.Attributes = append(p.Attributes, attrs...)
	if withMA {
		p.Add(rfc3579.Type, make([]byte, 16))
	}
	b, err := p.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if withMA {
		if err := rfc3579.Sign(b, secret, nil); err != nil {
			return nil, err
		}
	}
	Authenticate(b, secret)
	return b, nil
}

// Authenticate writes the Request Authenticator of the packet b:
// MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret).
func Authenticate(b, secret []byte) {
	var zero [16]byte
	h := md5.New()
	h.Write(b[:4])
	h.Write(zero[:])
	h.Write(b[20:])
	h.Write(secret)
	h.Sum(b[4:4:20])
}

// MustEncode is Encode for tests: it panics on error.
func MustEncode(code lr.Code, id byte, attrs lr.Attributes, secret []byte, withMA bool) []byte {
	b, err := Encode(code, id, attrs, secret, withMA)
	if err != nil {
		panic(err)
	}
	return b
}

// Reply is a verified answer.
type Reply struct {
	*lr.Packet
	// ErrorCause is the Error-Cause, 0 when absent.
	ErrorCause dae.ErrorCause
	// MessageAuthenticator says whether the answer carried one (it has
	// been verified).
	MessageAuthenticator bool
}

// Verify checks that reply answers the encoded request req: Identifier,
// an ACK or NAK code for the request's code, Response Authenticator, a
// valid Message-Authenticator (required when the request had one), at
// most one Error-Cause and none in an ACK unless it is 2xx.
func Verify(reply, req, secret []byte) (*Reply, error) {
	if len(reply) < 20 || len(req) < 20 {
		return nil, errors.New("short packet")
	}
	if reply[1] != req[1] {
		return nil, fmt.Errorf("identifier %d answers %d", reply[1], req[1])
	}
	p, err := lr.Parse(reply, secret)
	if err != nil {
		return nil, err
	}
	if int(binary.BigEndian.Uint16(reply[2:4])) != len(reply) {
		return nil, errors.New("length field does not match the datagram")
	}
	want := map[lr.Code][2]lr.Code{
		lr.CodeDisconnectRequest: {lr.CodeDisconnectACK, lr.CodeDisconnectNAK},
		lr.CodeCoARequest:        {lr.CodeCoAACK, lr.CodeCoANAK},
	}[lr.Code(req[0])]
	if p.Code != want[0] && p.Code != want[1] {
		return nil, fmt.Errorf("%s answers a %s", p.Code, lr.Code(req[0]))
	}
	if !lr.IsAuthenticResponse(reply, req, secret) {
		return nil, errors.New("wrong Response Authenticator")
	}
	var auth [16]byte
	copy(auth[:], req[4:20])
	r := &Reply{Packet: p}
	switch err := rfc3579.Verify(reply, secret, &auth); {
	case err == nil:
		r.MessageAuthenticator = true
	case errors.Is(err, rfc3579.ErrMissing):
		if _, err := rfc3579.Find(req); err == nil {
			return nil, errors.New("the request had a Message-Authenticator, the answer has none")
		}
	default:
		return nil, fmt.Errorf("answer's Message-Authenticator: %w", err)
	}
	causes := 0
	for _, a := range p.Attributes {
		if a.Type != 101 {
			continue
		}
		causes++
		v, err := lr.Integer(a.Attribute)
		if err != nil || causes > 1 {
			return nil, errors.New("malformed or repeated Error-Cause")
		}
		r.ErrorCause = dae.ErrorCause(v)
	}
	if (p.Code == lr.CodeDisconnectACK || p.Code == lr.CodeCoAACK) && r.ErrorCause != 0 && (r.ErrorCause < 200 || r.ErrorCause >= 300) {
		return nil, fmt.Errorf("%s with Error-Cause %s", p.Code, r.ErrorCause)
	}
	if (p.Code == lr.CodeDisconnectNAK || p.Code == lr.CodeCoANAK) && r.ErrorCause < 400 {
		return nil, fmt.Errorf("%s without a failure Error-Cause", p.Code)
	}
	return r, nil
}

// Attributes encodes what r says back into request attributes, so that
// a round trip through the server can be compared.
func Attributes(r *dae.Request) lr.Attributes {
	var as lr.Attributes
	str := func(t lr.Type, v string) {
		if v != "" {
			as.Add(t, lr.Attribute(v))
		}
	}
	addr := func(t lr.Type, a netip.Addr) {
		if a.IsValid() {
			as.Add(t, a.AsSlice())
		}
	}
	num := func(t lr.Type, v uint32) {
		if v != 0 {
			as.Add(t, lr.NewInteger(v))
		}
	}
	str(1, r.User)
	addr(4, r.NASIP)
	addr(8, r.FramedIP)
	str(11, r.FilterID)
	num(27, uint32(r.SessionTimeout/time.Second))
	num(28, uint32(r.IdleTimeout/time.Second))
	str(31, r.CallingStation)
	str(32, r.NASIdentifier)
	str(44, r.SessionID)
	num(49, r.TerminateCause)
	if !r.EventTime.IsZero() {
		num(55, uint32(r.EventTime.Unix()))
	}
	addr(95, r.NASIPv6)
	return as
}
