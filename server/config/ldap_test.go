package config

import (
	"strings"
	"testing"
)

// A PPTP policy that asks Active Directory for MS-CHAPv2 is an error, and
// config check says why AD cannot do it and what can.
func TestCheckPoliciesActiveDirectoryMSCHAPv2(t *testing.T) {
	const hint = "is Active Directory, which never gives out NT hashes over LDAP"
	for _, c := range []struct {
		name, options, policy string
		wantErr, wantHint     bool
	}{
		{"directory ad", "directory: ad", "DirectoryService", true, true},
		{"sAMAccountName filter", "user_filter: '(sAMAccountName={user})'", "DirectoryService", true, true},
		{"AD with an NT-hash attribute", "directory: ad, nt_hash_attribute: msSFU30NtHash", "DirectoryService", false, false},
		{"OpenLDAP without NT hash", "directory: openldap", "DirectoryService", true, false},
		{"OpenLDAP with sambaNTPassword", "nt_hash_attribute: sambaNTPassword", "DirectoryService", false, false},
		{"AD in a combination", "directory: ad", "DirectoryService and Password", true, false},
		// A member of the domain asks the DC through winbind.
		{"AD through winbind", "directory: ad, mschapv2: winbind, winbind_domain: X", "DirectoryService", false, false},
		{"AD through winbind, or Password", "directory: ad, mschapv2: winbind, winbind_domain: X", "DirectoryService or Password", false, false},
		{"AD through winbind in a combination", "directory: ad, mschapv2: winbind, winbind_domain: X", "DirectoryService and Password", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := "backends:\n  Password: {type: local}\n  DirectoryService:\n    type: ldap\n    options: {url: 'ldap://dc1', base_dn: 'DC=x', " +
				c.options + "}\nservices:\n  pptp: {policy: '" + c.policy + "'}\npptp: {enabled: true, service: pptp}\n"
			cfg, ps := Parse("gatehouse.yaml", []byte(text))
			if ps.Err() != nil {
				t.Fatal(ps)
			}
			_, ps = cfg.CheckPolicies()
			msg := ps.Errors().Error()
			if (ps.Errors().Err() != nil) != c.wantErr || strings.Contains(msg, hint) != c.wantHint {
				t.Errorf("got %q; want error %v, hint %v", msg, c.wantErr, c.wantHint)
			}
			if c.wantHint && (!strings.Contains(msg, "FreeRADIUS with ntlm_auth") || !strings.Contains(msg, "set mschapv2: winbind on DirectoryService")) {
				t.Errorf("the hint names no way out: %q", msg)
			}
		})
	}
}
