package config

import (
	"reflect"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

func TestInfo(t *testing.T) {
	const (
		frag      = authpolicy.CapFragments
		mschapv2  = authpolicy.CapVerifyMSCHAPv2
		plaintext = authpolicy.CapVerifyPlaintext
		identity  = authpolicy.CapIdentity
	)
	tests := []struct {
		name    string
		backend string
		want    authpolicy.Info
	}{
		{"local", "{type: local}", authpolicy.Info{Capabilities: frag | mschapv2 | plaintext | identity}},
		{"oath", "{type: oath}", authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: []int{6}, OneTime: true}},
		{"oath 8 digits", "{type: oath, digits: 8}", authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: []int{8}, OneTime: true}},
		{"digipass", "{type: digipass}", authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: []int{6, 8}, OneTime: true}},
		{"digipass 7", "{type: digipass, digits: [7]}", authpolicy.Info{Capabilities: frag | plaintext, FragmentLengths: []int{7}, OneTime: true}},
		{"ldap", "{type: ldap, options: {url: 'ldap://x'}}", authpolicy.Info{Capabilities: plaintext | identity}},
		{"ldap with NT hashes", "{type: ldap, options: {nt_hash_attribute: sambaNTPassword}}", authpolicy.Info{Capabilities: plaintext | identity | mschapv2}},
		{"radius", "{type: radius}", authpolicy.Info{Capabilities: plaintext | mschapv2}},
		{"plugin", "{type: plugin, plugin: x, capabilities: [fragments, verify-plaintext]}", authpolicy.Info{Capabilities: frag | plaintext}},
		{"memory", "{type: memory}", authpolicy.Info{Capabilities: frag | plaintext | mschapv2 | identity}},
		{"memory codes", "{type: memory, lengths: [6], one_time: true}", authpolicy.Info{Capabilities: frag | plaintext | mschapv2 | identity, FragmentLengths: []int{6}, OneTime: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "plugins: {external: {x: {binary: x, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}}}\n" +
				"backends:\n  B: " + tt.backend + "\nservices:\n  pptp: {policy: B}\n"
			c, ps := Parse("g.yaml", []byte(text))
			if err := ps.Err(); err != nil {
				t.Fatal(err)
			}
			b, _ := c.Backends.Get("B")
			if got := b.Info(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info() = %+v (%v), want %+v (%v)", got, got.Capabilities, tt.want, tt.want.Capabilities)
			}
		})
	}
}

func TestInfoDoesNotAlias(t *testing.T) {
	c, _ := Parse("g.yaml", []byte("backends:\n  D: {type: digipass}\nservices:\n  pptp: {policy: D}\n"))
	d, _ := c.Backends.Get("D")
	d.Info().FragmentLengths[0] = 99
	if d.Digipass.Digits[0] != 6 {
		t.Error("Info shares FragmentLengths with the config")
	}
}

func TestCapabilityNames(t *testing.T) {
	want := []string{"fragments", "verify-mschapv2", "verify-plaintext", "identity"}
	if got := capabilityNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("capabilityNames() = %v, want %v", got, want)
	}
}
