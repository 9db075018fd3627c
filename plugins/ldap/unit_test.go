package ldap_test

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
)

func TestCheckName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"alice", true}, {"alice@example.test", true}, {"jürgen", true}, {"*)(uid=*", true}, {`a\b`, true},
		{"", false}, {"a\x00", false}, {"a\nb", false}, {"\x7f", false}, {"a\u0085", false}, {" alice", false},
		{"alice\t", false}, {"\xff", false}, {strings.Repeat("x", 257), false}, {strings.Repeat("x", 256), true},
	} {
		if got := ldap.CheckName(c.name) == ""; got != c.ok {
			t.Errorf("checkName(%q) accepted=%v, want %v", c.name, got, c.ok)
		}
	}
}

// FuzzUserFilter: whatever name checkName lets through, the filter built
// from it parses (RFC 4515) into exactly the template's shape, with the
// name, byte for byte, as the assertion value: no name can add a
// wildcard, a clause or a NUL.
func FuzzUserFilter(f *testing.F) {
	for _, s := range []string{"alice", "*", "*)(uid=*", "a)(|(objectClass=*)", `\2a`, "jürgen", "x@y", "\x00", "(", `\`} {
		f.Add(s)
	}
	o, err := ldap.ParseOptions(map[string]string{"url": "ldap://127.0.0.1", "base_dn": "dc=x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ldap.CheckName(name) != "" {
			return
		}
		filter := o.UserFilterOf(name)
		p, err := goldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("%q: filter %q does not parse: %v", name, filter, err)
		}
		if p.Tag != goldap.FilterEqualityMatch || len(p.Children) != 2 {
			t.Fatalf("%q: filter %q is not a single equality match", name, filter)
		}
		if got := p.Children[1].Data.String(); got != name {
			t.Fatalf("%q: assertion value %q", name, got)
		}
	})
}

func TestParseNTHash(t *testing.T) {
	raw := []byte("0123456789abcdef")
	for _, c := range []struct {
		in []byte
		ok bool
	}{
		{[]byte("8846F7EAEE8FB117AD06BDD830B7586C"), true},
		{[]byte("8846f7eaee8fb117ad06bdd830b7586c"), true},
		{raw, true},
		{[]byte("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"), false}, // Samba: no password
		{[]byte("00000000000000000000000000000000"), false},
		{[]byte("8846F7EAEE8FB117AD06BDD830B7586"), false},
		{nil, false},
	} {
		if _, ok := ldap.ParseNTHash(c.in); ok != c.ok {
			t.Errorf("%q: ok=%v", c.in, ok)
		}
	}
}

func TestGroupNames(t *testing.T) {
	got := ldap.GroupNames([]string{
		"cn=vpn-users,ou=groups,dc=example,dc=test", "CN=Domain Users,CN=Users,DC=example,DC=test",
		"cn=a\\,b,dc=x", "not a dn", "", "cn=admins,dc=x",
	})
	if want := "Domain Users|a,b|admins|vpn-users"; strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestParseOptions(t *testing.T) {
	_, err := ldap.ParseOptions(map[string]string{
		"url": "http://x", "directory": "nds", "start_tls": "maybe", "timeout": "-1s", "pool_size": "1000",
		"bind_dn": "cn=x", "user_filter": "uid=%s", "groups": "all",
	})
	for _, want := range []string{"url:", "base_dn: required", "directory:", "start_tls:", "timeout:", "pool_size:",
		"bind_dn is set but its password is empty", "user_filter:", "groups:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q: %v", want, err)
		}
	}
	o, err := ldap.ParseOptions(map[string]string{"url": "ldaps://dc1.example.test ldap://dc2.example.test", "base_dn": "DC=example,DC=test",
		"directory": "ad", "bind_dn": "gw@example.test", "bind_password": "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.URLs) != 2 || o.Groups != ldap.GroupsNested || !strings.Contains(o.UserFilter, "sAMAccountName") || o.TLS == nil {
		t.Errorf("AD defaults: %+v", o)
	}
	// The password redacts itself however it is printed or logged.
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("options", "o", o, "pw", o.BindPassword)
	fmt.Fprintf(&b, "%v %+v %#v %s", o, o, o, o.BindPassword)
	if strings.Contains(b.String(), "s3cret") {
		t.Errorf("password printed: %s", b.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func containsLine(text, sub string) bool { return strings.Contains(text, sub) }

// FuzzGroupNames: memberOf values come from the directory; whatever they
// hold, turning them into group names does not panic, and a name comes
// only from a value that parses as a DN.
func FuzzGroupNames(f *testing.F) {
	for _, s := range []string{"cn=vpn-users,ou=groups,dc=example,dc=test", "CN=a\\,b,DC=x", "cn=#04024869", "=", ",", "cn=", "cn=a+sn=b,dc=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dn string) {
		got := ldap.GroupNames([]string{dn})
		if _, err := goldap.ParseDN(dn); err != nil && len(got) > 0 {
			t.Fatalf("%q does not parse but gave %q", dn, got)
		}
	})
}
