package authpolicy

import (
	"fmt"
	"math"
	"strings"
)

// Severity grades a Finding.
type Severity uint8

const (
	SeverityError Severity = iota + 1
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Finding is one result of the static check of a policy.
type Finding struct {
	Severity Severity
	Service  string
	Branch   string
	Kind     CredentialKind
	// Msg is the whole sentence, starting with "service NAME: ".
	Msg string
}

func (f Finding) String() string { return f.Msg }

// Workable reports whether branch b can ever succeed for a credential of the
// given kind, and if not, why (a sentence naming the back-end at fault).
func (p *Policy) Workable(b Branch, kind CredentialKind) (bool, string) {
	if len(b.Factors) == 1 {
		name := b.Factors[0]
		c := p.infos[name].Capabilities
		switch kind {
		case MSCHAPv2:
			if c.Has(CapVerifyMSCHAPv2) || c.Has(CapFragments) {
				return true, ""
			}
			return false, fmt.Sprintf("%s can neither check an MS-CHAPv2 response nor supply the secret to check it against", name)
		case Plaintext:
			if c.Has(CapVerifyPlaintext) || c.Has(CapFragments) {
				return true, ""
			}
			return false, fmt.Sprintf("%s can neither check a plaintext secret nor supply the secret to compare", name)
		case MSCHAPv1, CHAPMD5:
			if c.Has(CapFragments) {
				return true, ""
			}
			return false, noFragments(name, kind)
		}
		return false, "unknown credential kind"
	}
	switch kind {
	case MSCHAPv1, CHAPMD5:
		for _, name := range b.Factors {
			if !p.infos[name].Capabilities.Has(CapFragments) {
				return false, noFragments(name, kind)
			}
		}
		return true, ""
	case MSCHAPv2:
		for _, name := range b.Factors {
			if !p.infos[name].Capabilities.Has(CapFragments) {
				return false, fmt.Sprintf("%s can only verify a whole secret, it cannot supply its part of a combined one", name)
			}
		}
		return true, ""
	case Plaintext:
		var variable []string
		for _, name := range b.Factors {
			info := p.infos[name]
			if !info.Capabilities.Has(CapVerifyPlaintext) && !info.Capabilities.Has(CapFragments) {
				return false, fmt.Sprintf("%s can neither check a plaintext secret nor supply the secret to compare", name)
			}
			if len(info.FragmentLengths) == 0 {
				variable = append(variable, name)
			}
		}
		if len(variable) > 1 {
			return false, fmt.Sprintf("the typed secret cannot be split between %s: each has a variable length, and at most one factor of a combination may (the others need fixed-length codes)", strings.Join(variable, " and "))
		}
		return true, ""
	}
	return false, "unknown credential kind"
}

func noFragments(name string, kind CredentialKind) string {
	return fmt.Sprintf("%s cannot supply the secret that %s responses are checked against (it offers no fragments, and back-ends check only MS-CHAPv2 and plaintext themselves)", name, kind)
}

// weakBits estimates the entropy, in bits, of a branch whose every factor is
// a one-time code; ok is false when the branch has another kind of secret.
func (p *Policy) weakBits(b Branch) (bits float64, ok bool) {
	for _, name := range b.Factors {
		info := p.infos[name]
		if !info.OneTime || len(info.FragmentLengths) == 0 {
			return 0, false
		}
		shortest := info.FragmentLengths[0]
		for _, l := range info.FragmentLengths {
			shortest = min(shortest, l)
		}
		bits += float64(shortest) * math.Log2(10)
	}
	return bits, true
}

// Check verifies every branch against the credential kinds the service
// receives (a PPTP service MS-CHAPv2, and whatever else pptp.auth enables;
// a RADIUS service MS-CHAPv2 and plaintext).
// A branch that works for none of them is an error; a branch that works for
// some is a warning for the others (it is skipped for those logins). A
// branch whose only secret under MS-CHAPv2 or MS-CHAPv1 is one-time codes
// is a warning:
// its MPPE keys come from a few dozen bits at most.
func (p *Policy) Check(kinds []CredentialKind) []Finding {
	var out []Finding
	for _, b := range p.Branches {
		type miss struct {
			kind   CredentialKind
			reason string
		}
		var misses []miss
		for _, k := range kinds {
			if ok, why := p.Workable(b, k); !ok {
				misses = append(misses, miss{k, why})
			}
		}
		sev := SeverityWarning
		if len(misses) == len(kinds) {
			sev = SeverityError
		}
		for _, m := range misses {
			msg := fmt.Sprintf("service %s: branch %q cannot work over %s: %s", p.Service, b.String(), m.kind, m.reason)
			if sev == SeverityWarning {
				msg += fmt.Sprintf("; %s logins skip this branch", m.kind)
			}
			out = append(out, Finding{Severity: sev, Service: p.Service, Branch: b.String(), Kind: m.kind, Msg: msg})
		}
		var keyed []string
		var first CredentialKind
		for _, k := range []CredentialKind{MSCHAPv2, MSCHAPv1} {
			if ok, _ := p.Workable(b, k); ok && contains(kinds, k) {
				if first == 0 {
					first = k
				}
				keyed = append(keyed, k.String())
			}
		}
		if bits, weak := p.weakBits(b); weak && len(keyed) > 0 {
			out = append(out, Finding{
				Severity: SeverityWarning, Service: p.Service, Branch: b.String(), Kind: first,
				Msg: fmt.Sprintf("service %s: branch %q is weak over %s: its only secret is a one-time code, so the MPPE keys come from about %.0f bits and recorded traffic can be decrypted offline; add a password factor, e.g. %q",
					p.Service, b.String(), strings.Join(keyed, " and "), bits, "Password and "+b.String()),
			})
		}
	}
	return out
}

func contains(kinds []CredentialKind, k CredentialKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}
