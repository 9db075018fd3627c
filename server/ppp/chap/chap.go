package chap

import (
	"errors"
	"fmt"
	"io"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Code is the Code field of a CHAP packet (RFC 1994 section 4; RFC 2759
// section 7 adds Change-Password).
type Code uint8

// CHAP codes.
const (
	CodeChallenge      Code = 1
	CodeResponse       Code = 2
	CodeSuccess        Code = 3
	CodeFailure        Code = 4
	CodeChangePassword Code = 7 // MS-CHAPv2 Change-Password, not supported
)

func (c Code) String() string {
	switch c {
	case CodeChallenge:
		return "Challenge"
	case CodeResponse:
		return "Response"
	case CodeSuccess:
		return "Success"
	case CodeFailure:
		return "Failure"
	case CodeChangePassword:
		return "Change-Password"
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Lengths of MS-CHAPv2 (RFC 2759 sections 3 and 4).
const (
	// ChallengeLen is the Value-Size of an MS-CHAPv2 Challenge.
	ChallengeLen = 16
	// ResponseLen is the Value-Size of an MS-CHAPv2 Response:
	// Peer-Challenge 16, Reserved 8, NT-Response 24, Flags 1.
	ResponseLen = 49
	// MaxNameLen is the longest Name accepted: RFC 2759 allows user
	// names of up to 256 characters.
	MaxNameLen = 256
)

// Errors of the parsers.
var (
	ErrCode      = errors.New("chap: unexpected code")
	ErrShort     = errors.New("chap: packet too short")
	ErrValueSize = errors.New("chap: wrong Value-Size")
	ErrNameLen   = errors.New("chap: Name longer than 256 octets")
	ErrMessage   = errors.New("chap: message not in RFC 2759 form")
)

// parse checks the header of a CHAP packet of the wanted code.
func parse(b []byte, want Code) (ppp.Packet, error) {
	p, err := ppp.ParsePacket(b)
	if err != nil {
		return ppp.Packet{}, fmt.Errorf("chap: %w", err)
	}
	if Code(p.Code) != want {
		return ppp.Packet{}, fmt.Errorf("%w: %v, want %v", ErrCode, Code(p.Code), want)
	}
	return p, nil
}

// parseValue splits the Data of a Challenge or Response into its Value
// of the wanted size and its Name (RFC 1994 section 4.1).
func parseValue(data []byte, size int) (value []byte, name string, err error) {
	if len(data) < 1 {
		return nil, "", ErrShort
	}
	if int(data[0]) != size {
		return nil, "", fmt.Errorf("%w: %d, want %d", ErrValueSize, data[0], size)
	}
	if len(data) < 1+size {
		return nil, "", ErrShort
	}
	nameBytes := data[1+size:]
	if len(nameBytes) > MaxNameLen {
		return nil, "", ErrNameLen
	}
	return data[1 : 1+size], string(nameBytes), nil
}

func appendValue(dst []byte, code Code, id uint8, value []byte, name string) []byte {
	name = name[:min(len(name), MaxNameLen)]
	n := ppp.HeaderLen + 1 + len(value) + len(name)
	dst = append(dst, byte(code), id, byte(n>>8), byte(n), byte(len(value)))
	dst = append(dst, value...)
	return append(dst, name...)
}

// Challenge is an MS-CHAPv2 Challenge packet (RFC 2759 section 3).
type Challenge struct {
	Identifier uint8
	// Value is the 16-octet Authenticator Challenge.
	Value [ChallengeLen]byte
	// Name is the authenticator's name.
	Name string
}

// NewChallenge draws a 16-octet Authenticator Challenge from r, which
// should be crypto/rand.Reader.
func NewChallenge(r io.Reader) ([ChallengeLen]byte, error) {
	var c [ChallengeLen]byte
	_, err := io.ReadFull(r, c[:])
	return c, err
}

// Append appends the encoded Challenge. A Name longer than MaxNameLen is
// cut.
func (c *Challenge) Append(dst []byte) []byte {
	return appendValue(dst, CodeChallenge, c.Identifier, c.Value[:], c.Name)
}

// AppendChallenge appends a Challenge packet.
func AppendChallenge(dst []byte, id uint8, challenge [ChallengeLen]byte, name string) []byte {
	c := Challenge{Identifier: id, Value: challenge, Name: name}
	return c.Append(dst)
}

// ParseChallenge decodes an MS-CHAPv2 Challenge packet (the client's
// side; the server uses it in tests).
func ParseChallenge(b []byte) (Challenge, error) {
	p, err := parse(b, CodeChallenge)
	if err != nil {
		return Challenge{}, err
	}
	v, name, err := parseValue(p.Data, ChallengeLen)
	if err != nil {
		return Challenge{}, err
	}
	c := Challenge{Identifier: p.Identifier, Name: name}
	copy(c.Value[:], v)
	return c, nil
}

// Response is an MS-CHAPv2 Response packet (RFC 2759 section 4):
//
//	Value (49 octets):
//	  Peer-Challenge  16
//	  Reserved         8  zero
//	  NT-Response     24
//	  Flags            1  zero
//	Name: the user name, as typed (possibly DOMAIN\user)
type Response struct {
	// Identifier must match the Challenge's.
	Identifier    uint8
	PeerChallenge [16]byte
	NTResponse    [24]byte
	// Flags is reserved and should be zero; it is kept, not judged.
	Flags uint8
	// Name is the user name exactly as the peer sent it.
	Name string
}

// ParseResponse decodes an MS-CHAPv2 Response packet. The Value-Size
// must be 49 and the Name at most 256 octets. The Reserved octets and the
// Flags are not checked: RFC 2759 says they are zero, and like pppd and
// FreeRADIUS the parser does not refuse a login over them.
func ParseResponse(b []byte) (Response, error) {
	p, err := parse(b, CodeResponse)
	if err != nil {
		return Response{}, err
	}
	v, name, err := parseValue(p.Data, ResponseLen)
	if err != nil {
		return Response{}, err
	}
	r := Response{Identifier: p.Identifier, Flags: v[48], Name: name}
	copy(r.PeerChallenge[:], v[0:16])
	copy(r.NTResponse[:], v[24:48])
	return r, nil
}

// Append appends the encoded Response (the client's side; tests and
// scripted peers use it), Reserved zero.
func (r *Response) Append(dst []byte) []byte {
	var v [ResponseLen]byte
	copy(v[0:16], r.PeerChallenge[:])
	copy(v[24:48], r.NTResponse[:])
	v[48] = r.Flags
	return appendValue(dst, CodeResponse, r.Identifier, v[:], r.Name)
}

// MSCHAPv2 returns what the policy engine checks: the Response together
// with the Authenticator Challenge the server sent.
func (r *Response) MSCHAPv2(authChallenge [ChallengeLen]byte) authpolicy.MSCHAPv2Response {
	return authpolicy.MSCHAPv2Response{
		AuthenticatorChallenge: authChallenge,
		PeerChallenge:          r.PeerChallenge,
		NTResponse:             r.NTResponse,
		UserName:               r.Name,
	}
}
