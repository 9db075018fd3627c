package authpolicy

import (
	"context"
	"crypto/md5"
	"fmt"
)

// CredentialKind says what a login presents.
type CredentialKind uint8

const (
	// MSCHAPv2 is a challenge-response over the NT hash of the whole secret
	// (PPTP, RADIUS with MS-CHAP2-Response). The secret itself is never seen.
	MSCHAPv2 CredentialKind = iota + 1
	// Plaintext is the whole typed secret (RADIUS PAP, PPP PAP).
	Plaintext
	// MSCHAPv1 is RFC 2433's challenge-response: DES over the 8-octet
	// challenge with the NT hash of the whole secret. PPTP only, when the
	// operator enables it.
	MSCHAPv1
	// CHAPMD5 is RFC 1994's CHAP with MD5 over the identifier, the whole
	// secret and the challenge. It gives no MPPE keys. PPTP only, when the
	// operator enables it.
	CHAPMD5
)

// CredentialKinds lists every kind, in the order reports show them.
var CredentialKinds = []CredentialKind{MSCHAPv2, Plaintext, MSCHAPv1, CHAPMD5}

func (k CredentialKind) String() string {
	switch k {
	case MSCHAPv2:
		return "MS-CHAPv2"
	case Plaintext:
		return "plaintext"
	case MSCHAPv1:
		return "MS-CHAPv1"
	case CHAPMD5:
		return "CHAP-MD5"
	}
	return fmt.Sprintf("CredentialKind(%d)", uint8(k))
}

// MSCHAPv2Response is what RFC 2759 section 4 puts on the wire, plus the
// challenge the authenticator sent.
type MSCHAPv2Response struct {
	AuthenticatorChallenge [16]byte
	PeerChallenge          [16]byte
	NTResponse             [24]byte
	// UserName is the name exactly as the peer sent it in the Response
	// packet; ChallengeHash uses it (without any DOMAIN\ prefix, RFC 2759
	// section 8.2).
	UserName string
}

// MSCHAPv1Response is what RFC 2433 section 3 puts on the wire that the
// engine checks, plus the challenge the authenticator sent. The LAN Manager
// response is not carried: the server refuses it (package chap).
type MSCHAPv1Response struct {
	Challenge  [8]byte
	NTResponse [24]byte
}

// CHAPMD5Response is an RFC 1994 CHAP response with algorithm MD5, and
// what it answers: Response is MD5(Identifier || secret || Challenge).
type CHAPMD5Response struct {
	Identifier uint8
	Challenge  []byte
	Response   [16]byte
}

// CHAPMD5Sum is the response of RFC 1994 section 4.1 with algorithm MD5:
// MD5(Identifier || secret || Challenge).
func CHAPMD5Sum(id uint8, secret, challenge []byte) [md5.Size]byte {
	h := md5.New()
	h.Write([]byte{id})
	h.Write(secret)
	h.Write(challenge)
	var sum [md5.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Credential is one login attempt.
type Credential struct {
	Kind CredentialKind
	// User is the account name the policy evaluates for.
	User string
	// Secret is set for Plaintext.
	Secret Secret
	// MSCHAPv2 is set for MSCHAPv2.
	MSCHAPv2 *MSCHAPv2Response
	// MSCHAPv1 is set for MSCHAPv1.
	MSCHAPv1 *MSCHAPv1Response
	// CHAPMD5 is set for CHAPMD5.
	CHAPMD5 *CHAPMD5Response
	// CallingStation is where the login comes from, when known: the
	// client's public address (PPTP) or the NAS's Calling-Station-Id
	// (RADIUS front door). Back-ends read it with [CallingStation]; one
	// that forwards the login (RADIUS) passes it on.
	CallingStation string
}

type callingStationKey struct{}

// CallingStation returns the Credential.CallingStation of the login whose
// back-end call ctx belongs to, or "".
func CallingStation(ctx context.Context) string {
	s, _ := ctx.Value(callingStationKey{}).(string)
	return s
}

// WithCallingStation returns ctx carrying a calling station for back-end
// calls; the engine sets it from the credential.
func WithCallingStation(ctx context.Context, station string) context.Context {
	if station == "" {
		return ctx
	}
	return context.WithValue(ctx, callingStationKey{}, station)
}

// Approval is asked, once every factor of a branch has matched and before
// anything is committed, whether the login may go ahead: the PPTP gateway's
// VPN access check. res previews the Result (Service, User, Kind, Branch
// and the merged Identity). An error refuses that branch, reported with
// MS-CHAP error 649 (no dial-in permission), and the next branch is tried;
// nothing of the refused branch is committed, so no one-time code is
// spent on a login that is then turned away.
type Approval func(ctx context.Context, res *Result) error

type approvalKey struct{}

// WithApproval returns ctx carrying fn for the logins run with it.
func WithApproval(ctx context.Context, fn Approval) context.Context {
	return context.WithValue(ctx, approvalKey{}, fn)
}

func approvalOf(ctx context.Context) Approval {
	fn, _ := ctx.Value(approvalKey{}).(Approval)
	return fn
}

// mschapNoDialin is ERROR_NO_DIALIN_PERMISSION, the MS-CHAP error of a
// login its Approval refused.
const mschapNoDialin = 649
