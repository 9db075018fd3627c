package ldap_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
)

// TestSambaAD: account-name and UPN logins by bind, nested groups with
// the in-chain rule, a disabled account refused, against a real Samba AD
// DC.
func TestSambaAD(t *testing.T) {
	dc := sambaad.Start(t)
	b := ldap.New()
	if err := b.Configure(ctx(t), dc.BackendOptions()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if d, _ := b.Describe(ctx(t)); d.Has(sdk.CapVerifyMSCHAPv2) {
		t.Error("an AD back-end without nt_hash_attribute offers verify-mschapv2")
	}

	for _, c := range []struct {
		user, pw, want string
	}{
		{"alice", "Alice-Pass1", ""},
		{"alice@example.test", "Alice-Pass1", ""},
		{"ALICE", "Alice-Pass1", ""},
		{"bob@EXAMPLE.TEST", "Bob-Pass1", ""},
		{`EXAMPLE\bob`, "Bob-Pass1", ""}, // down-level name, as Windows PPTP clients send it
		{`EXAMPLE\`, "Bob-Pass1", "no such user in the directory"},
		{"alice", "Bob-Pass1", "wrong password"},
		{"alice@example.test", "wrong", "wrong password"},
		{"alice", "", "empty password refused"},
		{"carol", "Carol-Pass1", "account disabled"},
		{"carol@example.test", "Carol-Pass1", "account disabled"},
		{"nobody", "x", "no such user in the directory"},
		{"*", "Alice-Pass1", "no such user in the directory"},
		{"alice)(sAMAccountName=*", "Alice-Pass1", "no such user in the directory"},
	} {
		v, err := b.VerifyPlaintext(ctx(t), c.user, c.pw)
		if err != nil {
			t.Errorf("%s: %v", c.user, err)
			continue
		}
		if v.OK != (c.want == "") || v.Reason != c.want {
			t.Errorf("%s/%q: OK=%v reason %q, want %q", c.user, c.pw, v.OK, v.Reason, c.want)
		}
	}

	for _, c := range []struct {
		user, groups string
		disabled     bool
	}{
		// Nested: alice is in vpn-users, which is in staff, which is in
		// everyone. Domain Users is her primary group, which AD does not
		// list as a member link.
		{"alice", "admins,everyone,staff,vpn-users", false},
		{"bob@example.test", "everyone,staff,vpn-users", false},
		{"carol", "everyone,staff,vpn-users", true},
	} {
		id, err := b.Lookup(ctx(t), c.user)
		if err != nil {
			t.Fatal(err)
		}
		if !id.Found || strings.Join(id.Groups, ",") != c.groups || id.Disabled != c.disabled || id.Locked {
			t.Errorf("%s: %+v, want groups %s disabled %v", c.user, id, c.groups, c.disabled)
		}
	}

	// Three wrong passwords lock dave (the domain's lockout threshold);
	// then his right password is refused too.
	for range 3 {
		if v, err := b.VerifyPlaintext(ctx(t), "dave", "wrong"); err != nil || v.OK {
			t.Fatalf("dave wrong password: %v %v", v, err)
		}
	}
	if v, err := b.VerifyPlaintext(ctx(t), "dave", "Dave-Pass1"); err != nil || v.OK || v.Reason != "account locked" {
		t.Errorf("locked dave: OK=%v reason %q err %v", v.OK, v.Reason, err)
	}
	if id, err := b.Lookup(ctx(t), "dave"); err != nil || !id.Locked || id.Disabled {
		t.Errorf("locked dave: %+v %v", id, err)
	}

	// memberof mode: direct groups only.
	direct := ldap.New()
	opts := dc.BackendOptions()
	opts["groups"] = "memberof"
	if err := direct.Configure(ctx(t), opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(direct.Close)
	if id, err := direct.Lookup(ctx(t), "alice"); err != nil || strings.Join(id.Groups, ",") != "admins,vpn-users" {
		t.Errorf("memberof: %+v %v", id, err)
	}
}
