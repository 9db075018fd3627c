package authpolicy

import (
	"context"
	"strings"
)

// Capability is one thing a back-end can do. A back-end declares a set of
// them (see docs/policies.md, "What a back-end can do").
type Capability uint8

const (
	// CapFragments: the back-end can list the candidate secrets the user may
	// have typed for it (the password, the one-time codes of the window).
	CapFragments Capability = 1 << iota
	// CapVerifyMSCHAPv2: the back-end checks an MS-CHAPv2 response itself.
	CapVerifyMSCHAPv2
	// CapVerifyPlaintext: the back-end checks a whole plaintext secret.
	CapVerifyPlaintext
	// CapIdentity: the back-end knows groups, disabled/locked state and
	// attributes.
	CapIdentity
)

var capabilityNames = []struct {
	c    Capability
	name string
}{
	{CapFragments, "fragments"},
	{CapVerifyMSCHAPv2, "verify-mschapv2"},
	{CapVerifyPlaintext, "verify-plaintext"},
	{CapIdentity, "identity"},
}

// Has reports whether all of want are in c.
func (c Capability) Has(want Capability) bool { return c&want == want }

// String lists the capabilities as in the docs: "fragments,verify-plaintext".
func (c Capability) String() string {
	var parts []string
	for _, n := range capabilityNames {
		if c.Has(n.c) {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}

// ParseCapability is the inverse of [Capability.String] for one name.
func ParseCapability(name string) (Capability, bool) {
	for _, n := range capabilityNames {
		if n.name == name {
			return n.c, true
		}
	}
	return 0, false
}

// Info is what the engine needs to know about a back-end to check policies
// statically and to split plaintext secrets.
type Info struct {
	// Capabilities the back-end offers.
	Capabilities Capability
	// FragmentLengths lists the fixed lengths, in bytes, of the secrets the
	// user types for this back-end (6 and 8 for a token with either); empty
	// means the length varies (a password). Plaintext secrets of a
	// conjunction are split from the end using these lengths.
	FragmentLengths []int
	// OneTime reports that the back-end's secrets are one-time codes: short,
	// guessable offline once an MS-CHAPv2 exchange is recorded.
	OneTime bool
	// NothingToCommit reports that Commit does nothing for this back-end
	// (a password store): the engine does not call it, which saves a
	// plugin round trip per login. Never set together with OneTime.
	NothingToCommit bool
	// IdentityInVerdicts reports that every accepting Verdict carries
	// Identity, what Lookup would answer: the engine then does not call
	// Lookup for a branch in which it asked this back-end to verify (one
	// plugin round trip instead of two). Only with CapIdentity.
	IdentityInVerdicts bool
	// IdentityInFragments reports that every non-empty Fragments answer
	// carries Identity, what Lookup would answer: the engine then does not
	// call Lookup for a branch in which it combines this back-end's
	// fragments. Only with CapIdentity and CapFragments.
	IdentityInFragments bool
}

// Fragment is one candidate secret a back-end supplies for a conjunction.
type Fragment struct {
	Secret Secret
	// Token is opaque to the engine; it is handed back to Commit when this
	// fragment was the one used, so the back-end can consume a code or
	// advance a counter.
	Token string
	// Identity, when the back-end's Info says IdentityInFragments, is what
	// Lookup would answer for the user now; every fragment of one answer
	// carries the same.
	Identity *Identity
}

// Verdict is a back-end's answer to a verification. A wrong secret is a
// Verdict with OK false, never an error: an error means the back-end could not
// decide.
type Verdict struct {
	OK bool
	// Reason says, in words an operator can act on, why OK is false
	// ("wrong password", "code already used", "user disabled").
	Reason string
	// Token, when OK, is handed to Commit once the whole branch has matched.
	Token string
	// Attributes, when OK, are what the back-end learnt about the session
	// while verifying (a RADIUS server's Filter-Id, Class,
	// Framed-IP-Address): they join the Result's Identity.Attributes when
	// the branch decides.
	Attributes map[string][]string
	// MSCHAPError, when OK is false, is the MS-CHAP error code the back-end
	// learnt (RFC 2759 section 6); 0 when unknown. See Result.MSCHAPError.
	MSCHAPError int
	// Identity, when OK and the back-end's Info says IdentityInVerdicts,
	// is what Lookup would answer for the user now.
	Identity *Identity
	// Challenge, when OK is false, says that the back-end was asked a
	// second question the user can answer (an upstream Access-Challenge).
	// A back-end sets it only when its call's context allows it
	// ([BackendChallengeAllowed]); Reason still says why the login is not
	// accepted now. The engine fills in Backend and Branch.
	Challenge *BackendChallenge
}

// MSCHAPv2Verdict is a back-end's answer to an MS-CHAPv2 check. A back-end
// that knows the NT hash may return only PasswordHashHash and let the engine
// compute the rest; a back-end that delegates (RADIUS) returns the
// authenticator response and the MPPE keys it was given.
type MSCHAPv2Verdict struct {
	Verdict
	// PasswordHashHash is MD4(NT hash), RFC 2759 HashNtPasswordHash.
	PasswordHashHash *[16]byte
	// AuthenticatorResponse is the 42-character "S=..." string.
	AuthenticatorResponse string
	// Keys are the MPPE master session keys, from the server's side.
	Keys *MPPEKeys
}

// MPPEKeys are the 16-byte MPPE master session keys of RFC 3079 section 3,
// from the server's point of view: Send encrypts server to client. These are
// the values RADIUS carries in MS-MPPE-Send-Key and MS-MPPE-Recv-Key.
type MPPEKeys struct {
	Send [16]byte
	Recv [16]byte
}

// Identity is what a back-end knows about a user besides secrets.
type Identity struct {
	Found    bool
	Disabled bool
	Locked   bool
	Groups   []string
	// Attributes are back-end specific (RADIUS Filter-Id, LDAP mail, ...).
	Attributes map[string][]string
}

// Backend is an authentication back-end as the engine sees it. Each method
// is only called when Info declares the matching capability. Implementations
// must be safe for concurrent use. Returning an error means "could not
// decide" and always fails the branch closed.
type Backend interface {
	Info() Info
	// Fragments lists the candidate secrets for user (empty when the back-end
	// has none for this user; the branch then fails with a reason).
	Fragments(ctx context.Context, user string) ([]Fragment, error)
	// VerifyPlaintext checks one whole secret. It must not consume anything:
	// consumption happens in Commit.
	VerifyPlaintext(ctx context.Context, user string, secret Secret) (Verdict, error)
	// VerifyMSCHAPv2 checks a whole MS-CHAPv2 response.
	VerifyMSCHAPv2(ctx context.Context, user string, r *MSCHAPv2Response) (MSCHAPv2Verdict, error)
	// Commit tells the back-end that the fragment or verdict carrying token
	// was used in a successful login. An error (for example a code that
	// another login consumed first) fails the login closed.
	Commit(ctx context.Context, user string, token string) error
	// Lookup returns what the back-end knows about user.
	Lookup(ctx context.Context, user string) (Identity, error)
}
