package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/test/peers/slapd"
)

// ldapGateway is a gateway configuration whose DirectoryService is the
// built-in ldap plugin against a slapd of the test, next to the local
// Password store; policy is the pptp service's policy.
func ldapGateway(t testing.TB, srv *slapd.Server, policy string, extra map[string]string) *config.Config {
	t.Helper()
	dir := worldDir(t)
	text := fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
plugins: {call_timeout: 5s}
backends:
  Password: {type: local}
%sservices:
  pptp: {policy: %q}
pptp: {enabled: false}
`, srv.BackendYAML("DirectoryService", extra), policy)
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"config", "check", "--config", path}, strings.NewReader(""), &out, &errb); code != 0 {
		t.Fatalf("config check: exit %d\n%s%s", code, out.String(), errb.String())
	}
	cfg, ps, err := config.Load(path)
	if err != nil || ps.Err() != nil {
		t.Fatalf("config: %v %v", err, ps)
	}
	return cfg
}

// TestLDAPEndToEnd: "DirectoryService or Password" through the real
// plugin processes (as nobody when root: the bind password file is
// root's alone, the gateway reads it), under MS-CHAPv2 and plaintext.
func TestLDAPEndToEnd(t *testing.T) {
	srv := slapd.Start(t, slapd.Options{})
	srv.AddUser(t, slapd.User{Name: "alice", Password: "alice-pw", Groups: []string{"vpn-users"}})
	srv.AddUser(t, slapd.User{Name: "carol", Password: "carol-pw", Groups: []string{"vpn-users"}, Disabled: true})
	cfg := ldapGateway(t, srv, "DirectoryService or Password", nil)
	var out, errb bytes.Buffer
	if code := run([]string{"user", "add", "lisa", "--password-stdin", "--config", filepath.Join(cfg.Dir, "gatehouse.yaml")},
		strings.NewReader("lisa-pw\n"), &out, &errb); code != 0 {
		t.Fatalf("user add: %s%s", out.String(), errb.String())
	}
	engine, _, err := buildEngine(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}

	// alice is in the directory: DirectoryService decides, the MPPE keys
	// come from the directory's NT hash, her groups from memberOf.
	c := mschap("alice", "alice-pw")
	res := login(t, engine, c, "DirectoryService")
	nt := mschapv2.NTHash("alice-pw")
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(nt), c.MSCHAPv2.NTResponse, true)
	if res.Keys == nil || res.Keys.Send != send || res.Keys.Recv != recv {
		t.Error("MPPE keys differ from those the client derives")
	}
	if want := mschapv2.GenerateAuthenticatorResponse(nt, c.MSCHAPv2.NTResponse, c.MSCHAPv2.PeerChallenge, c.MSCHAPv2.AuthenticatorChallenge, "alice"); res.AuthenticatorResponse != want {
		t.Errorf("authenticator response %s, want %s", res.AuthenticatorResponse, want)
	}
	if strings.Join(res.Identity.Groups, ",") != "vpn-users" {
		t.Errorf("groups %v", res.Identity.Groups)
	}
	login(t, engine, plain("alice", "alice-pw"), "DirectoryService")
	login(t, engine, plain("alice@example.test", "alice-pw"), "DirectoryService")

	// lisa exists only in the local store: the second branch decides.
	login(t, engine, mschap("lisa", "lisa-pw"), "Password")
	login(t, engine, plain("lisa", "lisa-pw"), "Password")

	// Refusals, with the directory's reason in the decision.
	for _, c := range []struct {
		cred authpolicy.Credential
		why  string
	}{
		{mschap("alice", "wrong"), "wrong password"},
		{plain("alice", "wrong"), "wrong password"},
		{plain("alice", ""), "too short"}, // the engine stops it; the plugin would refuse it too
		{mschap("carol", "carol-pw"), "account disabled"},
		{plain("carol", "carol-pw"), "account disabled"},
		{mschap("*", "alice-pw"), "no such user in the directory"},
		{plain("alice)(uid=*", "alice-pw"), "no such user in the directory"},
	} {
		res := login(t, engine, c.cred, "")
		if !strings.Contains(res.Reason(), c.why) {
			t.Errorf("%s %q: reason %q does not say %q", c.cred.Kind, c.cred.User, res.Reason(), c.why)
		}
	}
}

// gatehouse config check explains why a PPTP policy cannot ask Active
// Directory for MS-CHAPv2, and what works instead.
func TestConfigCheckActiveDirectoryMSCHAPv2(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `backends:
  corp-ad:
    type: ldap
    options: {url: ldaps://dc1.example.com, base_dn: "dc=example,dc=com", directory: ad}
services:
  pptp: {policy: corp-ad}
pptp: {enabled: true}
`)
	code, out, stderr := gh(t, "", "config", "check", "--config", path)
	all := out + stderr
	if code != 1 || !strings.Contains(all, `branch "corp-ad" cannot work over MS-CHAPv2`) ||
		!strings.Contains(all, "corp-ad is Active Directory, which never gives out NT hashes over LDAP") ||
		!strings.Contains(all, "FreeRADIUS with ntlm_auth") {
		t.Errorf("exit %d\n%s", code, all)
	}
}

// The gateway reads the secret and CA files (relative to the config file)
// and hands the plugin their contents.
func TestLDAPConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bind.pw"), []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	in := map[string]string{"url": "ldap://x", "bind_password_file": "bind.pw", "ca_file": "ca.pem"}
	out, err := ldapConfig(in, dir)
	if err != nil {
		t.Fatal(err)
	}
	if out["bind_password"] != "s3cret" || out["ca_pem"] != "PEM" || out["url"] != "ldap://x" ||
		out["bind_password_file"] != "" || out["ca_file"] != "" {
		t.Errorf("got %v", out)
	}
	if in["bind_password_file"] != "bind.pw" {
		t.Error("the configuration's options were changed")
	}
	if _, err := ldapConfig(map[string]string{"bind_password_file": "missing.pw"}, dir); err == nil || !strings.Contains(err.Error(), "bind_password_file") {
		t.Errorf("missing file: %v", err)
	}
}
