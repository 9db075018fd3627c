package sdk

import (
	"context"
	"fmt"
	"log/slog"
)

// Capability is one thing a back-end can do. A back-end lists its
// capabilities in its [Description]; each one requires an interface.
type Capability int

// The capabilities, with the interface each one requires. The values are
// those of the protocol's Capability enum.
const (
	// CapFragments: the back-end lists the candidate secrets a user may have
	// typed for it (the password, the one-time codes valid now), so the
	// gateway can combine factors under MS-CHAPv2. Requires [FragmentSource].
	CapFragments Capability = 1
	// CapVerifyMSCHAPv2: the back-end checks an MS-CHAPv2 response itself.
	// Requires [MSCHAPv2Verifier].
	CapVerifyMSCHAPv2 Capability = 2
	// CapVerifyPlaintext: the back-end checks a whole typed secret.
	// Requires [PlaintextVerifier].
	CapVerifyPlaintext Capability = 3
	// CapIdentity: the back-end knows groups, disabled and locked state and
	// attributes. Requires [IdentitySource].
	CapIdentity Capability = 4
)

// Capabilities lists every capability, in protocol order.
var Capabilities = []Capability{CapFragments, CapVerifyMSCHAPv2, CapVerifyPlaintext, CapIdentity}

// String returns the name the gateway's configuration and logs use.
func (c Capability) String() string {
	switch c {
	case CapFragments:
		return "fragments"
	case CapVerifyMSCHAPv2:
		return "verify-mschapv2"
	case CapVerifyPlaintext:
		return "verify-plaintext"
	case CapIdentity:
		return "identity"
	}
	return fmt.Sprintf("Capability(%d)", int(c))
}

// Description is what a plugin says about itself.
type Description struct {
	// Name of the plugin, e.g. "acme-otp". Required.
	Name string
	// Version of the plugin, e.g. "1.4.2".
	Version string
	// Capabilities the back-end offers; at least one.
	Capabilities []Capability
	// FragmentLengths are the fixed lengths, in bytes, of the secrets a user
	// types for this back-end (6 and 8 for a token with either). Leave it
	// empty when the length varies (a password). The gateway splits a
	// plaintext "password followed by code" from the end with these.
	FragmentLengths []int
	// OneTime says the secrets are one-time codes that [Committer.Commit]
	// consumes. It requires a Committer.
	OneTime bool
	// ConfigKeys are the configuration keys the plugin accepts. The SDK
	// rejects unknown keys and missing required ones before
	// [Configurer.Configure] sees them. Declaring keys requires a
	// Configurer.
	ConfigKeys []ConfigKey
}

// Has reports whether d lists c.
func (d Description) Has(c Capability) bool {
	for _, x := range d.Capabilities {
		if x == c {
			return true
		}
	}
	return false
}

// ConfigKey describes one configuration key a plugin accepts.
type ConfigKey struct {
	Name     string
	Required bool
	// Description is one line for the operator.
	Description string
}

// Fragment is one candidate secret for a user.
type Fragment struct {
	// Secret is exactly what the user would type for this back-end.
	Secret string
	// Token is handed back to [Committer.Commit] when this fragment was the
	// one used, so a code can be consumed or a counter advanced. The
	// gateway treats it as opaque; it must not contain the secret.
	Token string
}

// String redacts the secret.
func (f Fragment) String() string { return fmt.Sprintf("{Secret:REDACTED Token:%s}", f.Token) }

// LogValue redacts the secret.
func (f Fragment) LogValue() slog.Value {
	return slog.GroupValue(slog.String("secret", "REDACTED"), slog.String("token", f.Token))
}

// Verdict answers a verification. A wrong secret is a Verdict with OK
// false, never an error: return an error only when the back-end could not
// decide (its directory is down), and the gateway fails closed.
type Verdict struct {
	OK bool
	// Reason says why OK is false, in words an operator can act on ("wrong
	// password", "code already used", "user disabled"). Never the secret.
	Reason string
	// Token, when OK, is handed to [Committer.Commit] once the whole login
	// succeeded.
	Token string
	// Attributes, when OK, are what the back-end learnt about the session
	// while verifying (a RADIUS server's Filter-Id, Class,
	// Framed-IP-Address); they join the login's identity attributes.
	Attributes map[string][]string
	// MSCHAPError, when OK is false, is the MS-CHAP error code the back-end
	// learnt (RFC 2759 section 6: 646, 647, 648, 649, 691, 709; a RADIUS
	// server's MS-CHAP-Error), which the PPP layer sends in its Failure
	// packet; 0 when unknown (the PPP layer sends 691).
	MSCHAPError int
	// Challenge, when OK is false, says that the back-end was asked a
	// second question the user can answer (an upstream RADIUS server's
	// Access-Challenge). Set it only when [ChallengeAllowed] reports
	// true; otherwise, or over a gateway that does not pass challenges
	// on, it is dropped and the verdict is the refusal Reason gives.
	Challenge *Challenge
}

// Challenge is a back-end's second question (see Verdict.Challenge).
type Challenge struct {
	// Message is the prompt to show the user (printable text; may be
	// empty, the front door then shows its own).
	Message string
	// Continuation is what the back-end needs to resume (an upstream
	// State, the server that sent it), at most 1024 bytes, opaque to the
	// gateway: it comes back, unchanged, from [Continuation] in the
	// VerifyPlaintext call whose secret is the user's answer. It never
	// leaves the gateway.
	Continuation []byte
}

// MSCHAPv2Request is an MS-CHAPv2 response as RFC 2759 section 4 puts it on
// the wire, plus the challenge the gateway sent. The package
// github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2 has the arithmetic
// to check it (mschapv2.Verify) and to answer it (mschapv2.HashNTHash).
type MSCHAPv2Request struct {
	AuthenticatorChallenge [16]byte
	PeerChallenge          [16]byte
	NTResponse             [24]byte
	// UserName is the name exactly as the peer sent it, perhaps with a
	// "DOMAIN\" prefix; the mschapv2 package strips it where RFC 2759 says.
	UserName string
}

// MSCHAPv2Verdict answers an MS-CHAPv2 check. When OK, set either
// PasswordHashHash (a back-end that knows the NT hash: the gateway computes
// the authenticator response and the MPPE keys), or AuthenticatorResponse
// with both SendKey and RecvKey (a back-end that delegates, such as RADIUS).
type MSCHAPv2Verdict struct {
	Verdict
	// PasswordHashHash is MD4(NT hash), RFC 2759 HashNtPasswordHash.
	PasswordHashHash *[16]byte
	// AuthenticatorResponse is the 42-character "S=..." string.
	AuthenticatorResponse string
	// SendKey and RecvKey are the MPPE master session keys from the
	// server's side (RADIUS MS-MPPE-Send-Key and MS-MPPE-Recv-Key).
	SendKey, RecvKey *[16]byte
}

// String redacts the key material.
func (v MSCHAPv2Verdict) String() string {
	return fmt.Sprintf("{OK:%t Reason:%q Token:%s keys:REDACTED}", v.OK, v.Reason, v.Token)
}

// LogValue redacts the key material.
func (v MSCHAPv2Verdict) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("ok", v.OK), slog.String("reason", v.Reason), slog.String("keys", "REDACTED"))
}

// Identity is what a back-end knows about a user besides secrets.
type Identity struct {
	// Found is false for a user the back-end does not know (that is not an
	// error).
	Found    bool
	Disabled bool
	Locked   bool
	Groups   []string
	// Attributes are back-end specific (RADIUS Filter-Id, LDAP mail, ...).
	Attributes map[string][]string
}

// Backend is what every plugin implements. Describe must answer before
// Configure, from defaults, and may answer differently after it (a code
// length chosen in the configuration). Implement the optional interfaces
// below for what the back-end can do; every method must be safe for
// concurrent use and honour its context.
type Backend interface {
	Describe(ctx context.Context) (Description, error)
}

// Configurer receives the back-end's options from the gateway's
// configuration, once after every start of the process and before any
// other call but Describe. Options holds only declared keys, and every
// required one. To report several problems, return errors.Join of one
// error per problem; the operator sees each one.
type Configurer interface {
	Configure(ctx context.Context, options map[string]string) error
}

// FragmentSource serves [CapFragments]: the candidate secrets for user, or
// none when the back-end has nothing for this user.
type FragmentSource interface {
	Fragments(ctx context.Context, user string) ([]Fragment, error)
}

// PlaintextVerifier serves [CapVerifyPlaintext]. It must not consume
// anything: that happens in Commit once the whole login succeeded.
type PlaintextVerifier interface {
	VerifyPlaintext(ctx context.Context, user, secret string) (Verdict, error)
}

// MSCHAPv2Verifier serves [CapVerifyMSCHAPv2].
type MSCHAPv2Verifier interface {
	VerifyMSCHAPv2(ctx context.Context, user string, r MSCHAPv2Request) (MSCHAPv2Verdict, error)
}

// Committer is told that the fragment or verdict carrying token was used in
// a successful login. Return an error when the code was consumed meanwhile
// by another login: the gateway then fails this login closed. A back-end
// without Committer has nothing to consume: its commits succeed.
type Committer interface {
	Commit(ctx context.Context, user, token string) error
}

// IdentitySource serves [CapIdentity].
type IdentitySource interface {
	Lookup(ctx context.Context, user string) (Identity, error)
}

// HealthChecker reports whether the back-end can currently do its work
// (its directory or server answers). The gateway calls it periodically and
// logs the error; it does not restart a plugin that answers. A back-end
// without HealthChecker is healthy while its process answers.
type HealthChecker interface {
	Health(ctx context.Context) error
}

type challengeOKKey struct{}

type continuationKey struct{}

// ChallengeAllowed reports, inside VerifyPlaintext, whether the gateway
// can pass a [Challenge] on to the user (a RADIUS front door's PAP client
// with challenges on). False for PPTP and MS-CHAPv2, and from a gateway
// that does not know challenges.
func ChallengeAllowed(ctx context.Context) bool {
	on, _ := ctx.Value(challengeOKKey{}).(bool)
	return on
}

// Continuation returns, inside VerifyPlaintext, the Challenge.Continuation
// of the challenge whose answer the secret is; nil on a first round.
func Continuation(ctx context.Context) []byte {
	b, _ := ctx.Value(continuationKey{}).([]byte)
	return b
}

func withChallenge(ctx context.Context, ok bool, cont []byte) context.Context {
	if ok {
		ctx = context.WithValue(ctx, challengeOKKey{}, true)
	}
	if len(cont) > 0 {
		ctx = context.WithValue(ctx, continuationKey{}, cont)
	}
	return ctx
}

type callingStationKey struct{}

// CallingStation returns, inside VerifyPlaintext and VerifyMSCHAPv2, where
// the login comes from when the gateway knows it: the client's public
// address (PPTP) or the NAS's Calling-Station-Id (RADIUS front door); "" if
// not. A back-end that forwards the login (RADIUS) passes it on.
func CallingStation(ctx context.Context) string {
	s, _ := ctx.Value(callingStationKey{}).(string)
	return s
}

func withCallingStation(ctx context.Context, s string) context.Context {
	if s == "" {
		return ctx
	}
	return context.WithValue(ctx, callingStationKey{}, s)
}
