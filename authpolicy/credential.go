package authpolicy

import "context"

import "fmt"

// CredentialKind says what a login presents.
type CredentialKind uint8

const (
	// MSCHAPv2 is a challenge-response over the NT hash of the whole secret
	// (PPTP, RADIUS with MS-CHAP2-Response). The secret itself is never seen.
	MSCHAPv2 CredentialKind = iota + 1
	// Plaintext is the whole typed secret (RADIUS PAP).
	Plaintext
)

// CredentialKinds lists every kind, in the order reports show them.
var CredentialKinds = []CredentialKind{MSCHAPv2, Plaintext}

func (k CredentialKind) String() string {
	switch k {
	case MSCHAPv2:
		return "MS-CHAPv2"
	case Plaintext:
		return "plaintext"
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

// Credential is one login attempt.
type Credential struct {
	Kind CredentialKind
	// User is the account name the policy evaluates for.
	User string
	// Secret is set for Plaintext.
	Secret Secret
	// MSCHAPv2 is set for MSCHAPv2.
	MSCHAPv2 *MSCHAPv2Response
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
