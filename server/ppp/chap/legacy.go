package chap

import (
	"fmt"
	"strconv"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

// Lengths of CHAP-MD5 (RFC 1994) and MS-CHAPv1 (RFC 2433).
const (
	// V1ChallengeLen is the Value-Size of an MS-CHAPv1 Challenge.
	V1ChallengeLen = 8
	// V1ResponseLen is the Value-Size of an MS-CHAPv1 Response:
	// LM-Response 24, NT-Response 24, Use-NT flag 1.
	V1ResponseLen = 49
	// MD5ResponseLen is the Value-Size of a CHAP-MD5 Response.
	MD5ResponseLen = 16
)

// AppendChallengeValue appends a Challenge carrying value as it is: 8
// octets for MS-CHAPv1 (RFC 2433 section 2); CHAP-MD5 takes any length
// (RFC 1994 section 4.1), and the server sends 16.
func AppendChallengeValue(dst []byte, id uint8, value []byte, name string) []byte {
	return appendValue(dst, CodeChallenge, id, value, name)
}

// MD5Response is a CHAP-MD5 Response packet (RFC 1994 section 4.1): the
// Value is MD5(Identifier || secret || Challenge).
type MD5Response struct {
	Identifier uint8
	Value      [MD5ResponseLen]byte
	// Name is the user name exactly as the peer sent it.
	Name string
}

// ParseMD5Response decodes a CHAP-MD5 Response: Value-Size 16, a Name of
// at most 256 octets.
func ParseMD5Response(b []byte) (MD5Response, error) {
	p, err := parse(b, CodeResponse)
	if err != nil {
		return MD5Response{}, err
	}
	v, name, err := parseValue(p.Data, MD5ResponseLen)
	if err != nil {
		return MD5Response{}, err
	}
	r := MD5Response{Identifier: p.Identifier, Name: name}
	copy(r.Value[:], v)
	return r, nil
}

// Append appends the encoded Response (the client's side; tests use it).
func (r *MD5Response) Append(dst []byte) []byte {
	return appendValue(dst, CodeResponse, r.Identifier, r.Value[:], r.Name)
}

// CHAPMD5 returns what the policy engine checks: the Response with the
// Challenge it answers.
func (r *MD5Response) CHAPMD5(challenge []byte) authpolicy.CHAPMD5Response {
	return authpolicy.CHAPMD5Response{Identifier: r.Identifier, Challenge: challenge, Response: r.Value}
}

// V1Response is an MS-CHAPv1 Response packet (RFC 2433 section 2):
//
//	Value (49 octets):
//	  LM-Response  24  LAN Manager compatible response, or zero
//	  NT-Response  24  Windows NT compatible response
//	  Use-NT        1  1: use the NT-Response
//	Name: the user name, as typed
type V1Response struct {
	Identifier uint8
	LMResponse [24]byte
	NTResponse [24]byte
	// Flags is the Use-NT flag: 1 when NTResponse is to be used. A
	// response with only the LAN Manager response (0) is one the server
	// refuses: that hash is weaker still, and the store never has it.
	Flags uint8
	Name  string
}

// UseNT reports whether the peer asks for its NT-Response to be used.
func (r *V1Response) UseNT() bool { return r.Flags == 1 }

// ParseV1Response decodes an MS-CHAPv1 Response: Value-Size 49, a Name of
// at most 256 octets. The Use-NT flag is kept, not judged.
func ParseV1Response(b []byte) (V1Response, error) {
	p, err := parse(b, CodeResponse)
	if err != nil {
		return V1Response{}, err
	}
	v, name, err := parseValue(p.Data, V1ResponseLen)
	if err != nil {
		return V1Response{}, err
	}
	r := V1Response{Identifier: p.Identifier, Flags: v[48], Name: name}
	copy(r.LMResponse[:], v[0:24])
	copy(r.NTResponse[:], v[24:48])
	return r, nil
}

// Append appends the encoded Response (the client's side; tests use it).
func (r *V1Response) Append(dst []byte) []byte {
	var v [V1ResponseLen]byte
	copy(v[0:24], r.LMResponse[:])
	copy(v[24:48], r.NTResponse[:])
	v[48] = r.Flags
	return appendValue(dst, CodeResponse, r.Identifier, v[:], r.Name)
}

// MSCHAPv1 returns what the policy engine checks: the NT-Response with
// the Challenge it answers.
func (r *V1Response) MSCHAPv1(challenge [V1ChallengeLen]byte) authpolicy.MSCHAPv1Response {
	return authpolicy.MSCHAPv1Response{Challenge: challenge, NTResponse: r.NTResponse}
}

// AppendMessage appends a Success or Failure whose Message is text, as
// CHAP-MD5 sends them (RFC 1994 section 4.2) and MS-CHAPv1 sends its
// Success. The message is cut to fit the packet's 65535 octets.
func AppendMessage(dst []byte, code Code, id uint8, message string) []byte {
	message = message[:min(len(message), 0xffff-ppp.HeaderLen)]
	n := ppp.HeaderLen + len(message)
	dst = append(dst, byte(code), id, byte(n>>8), byte(n))
	return append(dst, message...)
}

// AppendV1Failure appends an MS-CHAPv1 Failure (RFC 2433 section 4):
// "E=<code> R=0", no retry and no next challenge.
func AppendV1Failure(dst []byte, id uint8, code ErrorCode) []byte {
	return AppendMessage(dst, CodeFailure, id, "E="+strconv.Itoa(int(code))+" R=0")
}

// ParseMessage decodes a Success or Failure of CHAP-MD5 or MS-CHAPv1:
// the code and identifier, and the Message as text.
func ParseMessage(b []byte) (code Code, id uint8, message string, err error) {
	p, err := ppp.ParsePacket(b)
	if err != nil {
		return 0, 0, "", fmt.Errorf("chap: %w", err)
	}
	switch Code(p.Code) {
	case CodeSuccess, CodeFailure:
	default:
		return 0, 0, "", fmt.Errorf("%w: %v, want Success or Failure", ErrCode, Code(p.Code))
	}
	return Code(p.Code), p.Identifier, string(p.Data), nil
}

// ParseChallengeValue decodes a Challenge of any Value-Size (the
// client's side: an MS-CHAPv1 Challenge has 8 octets, a CHAP-MD5 one any
// number). value aliases b.
func ParseChallengeValue(b []byte) (id uint8, value []byte, name string, err error) {
	p, err := parse(b, CodeChallenge)
	if err != nil {
		return 0, nil, "", err
	}
	if len(p.Data) < 1 || len(p.Data) < 1+int(p.Data[0]) {
		return 0, nil, "", ErrShort
	}
	v, name, err := parseValue(p.Data, int(p.Data[0]))
	return p.Identifier, v, name, err
}
