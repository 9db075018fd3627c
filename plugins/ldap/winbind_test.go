package ldap_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
	"github.com/gatehouse-vpn/gatehouse/test/peers/winbind"
)

// msRequest is what an MS-CHAPv2 client that typed password as name
// sends.
func msRequest(name, password string) sdk.MSCHAPv2Request {
	r := sdk.MSCHAPv2Request{UserName: name}
	for i := range r.AuthenticatorChallenge {
		r.AuthenticatorChallenge[i], r.PeerChallenge[i] = byte(3*i+1), byte(0xf0-i)
	}
	r.NTResponse = mschapv2.GenerateNTResponse(r.AuthenticatorChallenge, r.PeerChallenge, name, mschapv2.NTHash(password))
	return r
}

func winbindBackend(t *testing.T, dc *sambaad.Server, m *winbind.Member) *ldap.Backend {
	t.Helper()
	opts := dc.BackendOptions()
	opts["mschapv2"] = "winbind"
	opts["winbind_domain"] = m.Domain
	opts["ntlm_auth"] = m.NTLMAuth
	opts["wbinfo"] = m.WBInfo
	opts["smb_conf"] = m.SMBConf
	b := ldap.New()
	if err := b.Configure(ctx(t), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// TestSambaADWinbind: MS-CHAPv2 against Active Directory through winbind
// on a member joined to a real Samba AD DC. The key that comes back is
// the one the client derives from the password; account names, UPNs and
// DOMAIN\name work, another domain is refused; disabled and locked
// accounts, a wrong password and an unknown user are verdicts with their
// MS-CHAP error code; winbind stopped and a machine that never joined are
// errors (the login fails closed). Plaintext keeps binding over LDAP.
func TestSambaADWinbind(t *testing.T) {
	dc := sambaad.StartDomain(t)
	m := winbind.Join(t, dc)
	b := winbindBackend(t, dc, m)
	if d, _ := b.Describe(ctx(t)); !d.Has(sdk.CapVerifyMSCHAPv2) {
		t.Error("mschapv2: winbind does not offer verify-mschapv2")
	}
	if err := b.Health(ctx(t)); err != nil {
		t.Errorf("health: %v", err)
	}

	for _, c := range []struct {
		name, pw string
	}{
		{"alice", "Alice-Pass1"},
		{"ALICE", "Alice-Pass1"},
		{`EXAMPLE\alice`, "Alice-Pass1"},
		{`example.test\bob`, "Bob-Pass1"},
		{"alice@example.test", "Alice-Pass1"},
		{"bob@EXAMPLE.TEST", "Bob-Pass1"},
	} {
		v, err := b.VerifyMSCHAPv2(ctx(t), c.name, msRequest(c.name, c.pw))
		hh := mschapv2.HashNTHash(mschapv2.NTHash(c.pw))
		if err != nil || !v.OK || v.PasswordHashHash == nil || *v.PasswordHashHash != hh {
			t.Errorf("%s: %v %v", c.name, v, err)
		}
	}

	for _, c := range []struct {
		name, pw, want string
		code           int
	}{
		{"alice", "Bob-Pass1", "wrong password", 691},
		{"bob@example.test", "wrong", "wrong password", 691},
		{`OTHER\alice`, "Alice-Pass1", `domain "OTHER" is not this gateway's domain EXAMPLE (example.test)`, 691},
		{"carol", "Carol-Pass1", "account disabled", 647},
		{"nobody", "x", "no such user in the directory", 691},
		{"alice)(sAMAccountName=*", "Alice-Pass1", "no such user in the directory", 691},
		{"--help", "x", "no such user in the directory", 691},
	} {
		v, err := b.VerifyMSCHAPv2(ctx(t), c.name, msRequest(c.name, c.pw))
		if err != nil || v.OK || v.Reason != c.want || v.MSCHAPError != c.code || v.PasswordHashHash != nil {
			t.Errorf("%s/%s: %v (code %d) %v, want %q %d", c.name, c.pw, v, v.MSCHAPError, err, c.want, c.code)
		}
	}

	// Plaintext binds over LDAP, with the same domain check.
	for _, c := range []struct{ name, pw, want string }{
		{`EXAMPLE\bob`, "Bob-Pass1", ""},
		{"bob@example.test", "Bob-Pass1", ""},
		{`OTHER\bob`, "Bob-Pass1", `domain "OTHER" is not this gateway's domain EXAMPLE (example.test)`},
		{"bob", "wrong", "wrong password"},
	} {
		v, err := b.VerifyPlaintext(ctx(t), c.name, c.pw)
		if err != nil || v.OK != (c.want == "") || v.Reason != c.want {
			t.Errorf("plaintext %s: %+v %v, want %q", c.name, v, err, c.want)
		}
	}
	if id, err := b.Lookup(ctx(t), `EXAMPLE\alice`); err != nil || !id.Found || strings.Join(id.Groups, ",") != "admins,everyone,staff,vpn-users" {
		t.Errorf(`lookup EXAMPLE\alice: %+v %v`, id, err)
	}
	if id, err := b.Lookup(ctx(t), `OTHER\alice`); err != nil || id.Found {
		t.Errorf(`lookup OTHER\alice: %+v %v`, id, err)
	}

	// Three wrong passwords through the DC lock dave; the directory then
	// says so before the DC is asked.
	for range 3 {
		if v, err := b.VerifyMSCHAPv2(ctx(t), "dave", msRequest("dave", "wrong")); err != nil || v.OK {
			t.Fatalf("dave wrong password: %v %v", v, err)
		}
	}
	if v, err := b.VerifyMSCHAPv2(ctx(t), "dave", msRequest("dave", "Dave-Pass1")); err != nil || v.OK || v.Reason != "account locked" || v.MSCHAPError != 647 {
		t.Errorf("locked dave: %v (code %d) %v", v, v.MSCHAPError, err)
	}

	// winbindd stopped: an error, not a verdict; back once it runs.
	m.StopWinbindd()
	if err := b.Health(ctx(t)); err == nil || !strings.Contains(err.Error(), "winbind: ") {
		t.Errorf("health, winbindd stopped: %v", err)
	}
	if v, err := b.VerifyMSCHAPv2(ctx(t), "alice", msRequest("alice", "Alice-Pass1")); err == nil || !strings.Contains(err.Error(), "winbind did not answer") {
		t.Errorf("winbindd stopped: %v %v", v, err)
	} else {
		t.Logf("winbindd stopped: %v", err)
	}
	m.StartWinbindd(t)
	if v, err := b.VerifyMSCHAPv2(ctx(t), "alice", msRequest("alice", "Alice-Pass1")); err != nil || !v.OK {
		t.Errorf("winbindd restarted: %v %v", v, err)
	}

	// The domain no longer knows the machine: an error that says so.
	m.DeleteMachineAccount(t, dc)
	if v, err := b.VerifyMSCHAPv2(ctx(t), "alice", msRequest("alice", "Alice-Pass1")); err == nil || !strings.Contains(err.Error(), "secure channel with the domain does not work") {
		t.Errorf("not joined: %v %v", v, err)
	} else {
		t.Logf("not joined: %v", err)
	}
	if err := b.Health(ctx(t)); err == nil || !strings.Contains(err.Error(), "secure channel") {
		t.Errorf("health, not joined: %v", err)
	}
}
