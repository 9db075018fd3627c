package config

import (
	"slices"
	"strings"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Info is the capability catalog: what a back-end of this configuration can
// do, as the policy engine needs to know it to check policies before any
// back-end runs (see docs/policies.md, "What a back-end can do").
//
//	local     fragments, verify-mschapv2, verify-plaintext, identity; variable length
//	oath      fragments, verify-plaintext; one length (digits); one-time
//	digipass  fragments, verify-plaintext; the lengths in digits; one-time
//	ldap      verify-plaintext, identity; verify-mschapv2 too when option
//	          nt_hash_attribute is set, or mschapv2 is winbind
//	radius    verify-plaintext, verify-mschapv2
//	plugin    the capabilities declared in the file
//	memory    fragments, verify-plaintext, verify-mschapv2, identity; the
//	          lengths given; one-time when one_time is set
//
// A back-end whose type or options failed to decode has no capabilities.
func (b *Backend) Info() authpolicy.Info {
	const (
		frag      = authpolicy.CapFragments
		mschapv2  = authpolicy.CapVerifyMSCHAPv2
		plaintext = authpolicy.CapVerifyPlaintext
		identity  = authpolicy.CapIdentity
	)
	switch b.Type {
	case BackendLocal:
		return authpolicy.Info{Capabilities: frag | mschapv2 | plaintext | identity}
	case BackendOATH:
		if b.OATH != nil {
			return authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: []int{b.OATH.Digits}, OneTime: true}
		}
	case BackendDigipass:
		if b.Digipass != nil {
			return authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: slices.Clone(b.Digipass.Digits), OneTime: true}
		}
	case BackendLDAP:
		if b.LDAP != nil {
			c := plaintext | identity
			if b.LDAP.MSCHAPv2() {
				c |= mschapv2
			}
			return authpolicy.Info{Capabilities: c}
		}
	case BackendRADIUS:
		return authpolicy.Info{Capabilities: plaintext | mschapv2}
	case BackendPlugin:
		if b.Plugin != nil {
			var c authpolicy.Capability
			for _, name := range b.Plugin.Capabilities {
				if one, ok := authpolicy.ParseCapability(name); ok {
					c |= one
				}
			}
			return authpolicy.Info{Capabilities: c}
		}
	case BackendMemory:
		if b.Memory != nil {
			return authpolicy.Info{
				Capabilities:    frag | plaintext | mschapv2 | identity,
				FragmentLengths: slices.Clone(b.Memory.Lengths),
				OneTime:         b.Memory.OneTime,
			}
		}
	}
	return authpolicy.Info{}
}

// ActiveDirectory reports whether the directory is Active Directory (or
// Samba AD): option directory is ad, or a filter names sAMAccountName or
// userPrincipalName.
func (l *LDAP) ActiveDirectory() bool {
	if l == nil {
		return false
	}
	if strings.EqualFold(l.Options["directory"], "ad") {
		return true
	}
	for _, k := range []string{"user_filter", "upn_filter"} {
		f := strings.ToLower(l.Options[k])
		if strings.Contains(f, "samaccountname") || strings.Contains(f, "userprincipalname") {
			return true
		}
	}
	return false
}

// MSCHAPv2 reports whether the directory back-end checks MS-CHAPv2:
// option nt_hash_attribute (the NT hash read from the directory), or
// mschapv2: winbind (Active Directory, through the domain controller on a
// machine joined to the domain).
func (l *LDAP) MSCHAPv2() bool {
	return l != nil && (l.Options["nt_hash_attribute"] != "" || strings.EqualFold(l.Options["mschapv2"], "winbind"))
}

// msCHAPv2Hint explains, for a branch that cannot work over MS-CHAPv2,
// why an Active Directory back-end without nt_hash_attribute or mschapv2:
// winbind cannot check MS-CHAPv2 and what can; "" when the branch is not
// that case.
func (c *Config) msCHAPv2Hint(factors []string) string {
	if len(factors) != 1 {
		return ""
	}
	b, ok := c.Backends.Get(factors[0])
	if !ok || b == nil || b.Type != BackendLDAP || !b.LDAP.ActiveDirectory() || b.LDAP.MSCHAPv2() {
		return ""
	}
	return "; " + factors[0] + " is Active Directory, which never gives out NT hashes over LDAP (unicodePwd is write-only), " +
		"so it cannot check MS-CHAPv2 by itself: join this machine to the domain and set mschapv2: winbind on " + factors[0] +
		" (docs/ldap.md), or put a RADIUS server in front of AD (Microsoft NPS, or FreeRADIUS with ntlm_auth) " +
		"and use it as a back-end of type radius, or take plaintext logins through the RADIUS front door"
}
