package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

func TestServiceKinds(t *testing.T) {
	ms, pt, v1, md := authpolicy.MSCHAPv2, authpolicy.Plaintext, authpolicy.MSCHAPv1, authpolicy.CHAPMD5
	for _, c := range []struct {
		pptp string
		want []authpolicy.CredentialKind
	}{
		{"{enabled: true, service: vpn}", []authpolicy.CredentialKind{ms}},
		{"{enabled: true, service: vpn, auth: {pap: true}}", []authpolicy.CredentialKind{ms, pt}},
		{"{enabled: true, service: vpn, auth: {mschapv1: true, chap_md5: true}}", []authpolicy.CredentialKind{ms, v1, md}},
		{"{enabled: false, service: vpn, auth: {chap_md5: true}}", []authpolicy.CredentialKind{ms, pt}},
	} {
		cfg, ps := Parse("gatehouse.yaml", []byte("backends:\n  Password: {type: local}\nservices:\n  vpn: {policy: Password}\npptp: "+c.pptp+"\n"))
		if ps.Err() != nil {
			t.Fatal(ps)
		}
		if got := cfg.ServiceKinds("vpn"); !slices.Equal(got, c.want) {
			t.Errorf("%s: kinds %v, want %v", c.pptp, got, c.want)
		}
	}
}

// With CHAP-MD5 on, a branch over a back-end that cannot take part (LDAP)
// is a warning that names the method; the MS-CHAPv2 logins still use it.
func TestCheckPoliciesLegacyKinds(t *testing.T) {
	text := "backends:\n  Password: {type: local}\n  DirectoryService:\n    type: ldap\n    options: {url: 'ldap://ldap1', base_dn: 'dc=x', nt_hash_attribute: sambaNTPassword}\n" +
		"services:\n  pptp: {policy: 'DirectoryService or Password'}\npptp: {enabled: true, service: pptp, auth: {chap_md5: true}, mppe: {required: false}}\n"
	cfg, ps := Parse("gatehouse.yaml", []byte(text))
	if ps.Err() != nil {
		t.Fatal(ps)
	}
	_, ps = cfg.CheckPolicies()
	if err := ps.Errors().Err(); err != nil {
		t.Fatalf("errors: %v", err)
	}
	var found bool
	for _, p := range ps {
		found = found || strings.Contains(p.Msg, `branch "DirectoryService" cannot work over CHAP-MD5`) && strings.Contains(p.Msg, "CHAP-MD5 logins skip this branch")
	}
	if !found {
		t.Errorf("no CHAP-MD5 warning for the LDAP branch:\n%v", ps)
	}
}

func TestWarnMSCHAPv1WeakMPPE(t *testing.T) {
	_, ps := Parse("gatehouse.yaml", []byte("backends:\n  Password: {type: local}\nservices:\n  vpn: {policy: Password}\npptp: {enabled: true, service: vpn, auth: {mschapv1: true}, mppe: {bits_40: true}}\n"))
	if ps.Err() != nil {
		t.Fatal(ps)
	}
	var found bool
	for _, p := range ps {
		found = found || p.Path == "pptp.auth.mschapv1" && strings.Contains(p.Msg, "LAN Manager hash")
	}
	if !found {
		t.Errorf("no warning about 40-bit MPPE after MS-CHAPv1:\n%v", ps)
	}
}

// A service with challenge on whose policy has no branch that a code
// completes is told so by the policy check; one that has is not.
func TestCheckPoliciesChallengeNeverApplies(t *testing.T) {
	text := "backends:\n  Password: {type: local}\n  OATH: {type: oath}\nservices:\n  vpn: {policy: Password or OATH, challenge: true}\n  mfa: {policy: Password and OATH, challenge: true}\n" +
		"pptp: {enabled: false}\nradius_server: {enabled: true, service: vpn, clients: [{prefix: 127.0.0.0/8, secret_file: s}]}\n"
	cfg, ps := Parse("gatehouse.yaml", []byte(text))
	if ps.Err() != nil {
		t.Fatal(ps)
	}
	_, ps = cfg.CheckPolicies()
	var got []string
	for _, p := range ps {
		if strings.HasSuffix(p.Path, ".challenge") {
			got = append(got, p.String())
		}
	}
	want := "gatehouse.yaml:5:46: warning: services.vpn.challenge: no branch of the policy combines a one-time-code back-end (oath, digipass) with another factor, nor has a radius back-end alone, so no login is ever challenged"
	if strings.Join(got, "\n") != want {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}
