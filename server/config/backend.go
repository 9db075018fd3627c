package config

import (
	"slices"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Info is the capability catalog: what a back-end of this configuration can
// do, as the policy engine needs to know it to check policies before any
// back-end runs (see DESIGN.md, "Credentials and what a back-end can do").
//
//	local     fragments, verify-mschapv2, verify-plaintext, identity; variable length
//	oath      fragments, verify-plaintext; one length (digits); one-time
//	digipass  fragments, verify-plaintext; the lengths in digits; one-time
//	ldap      verify-plaintext, identity; verify-mschapv2 too when option
//	          nt_hash_attribute is set
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
			if b.LDAP.Options["nt_hash_attribute"] != "" {
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
