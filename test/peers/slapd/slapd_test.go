package slapd_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/test/peers/slapd"
)

// The harness itself: users bind, memberOf is kept, the NT hash is the
// service account's to read, the CA verifies the server on another
// loopback address, and a locked user cannot bind.
func TestHarness(t *testing.T) {
	srv := slapd.Start(t, slapd.Options{Host: "127.0.0.2"})
	dn := srv.AddUser(t, slapd.User{Name: "alice", Password: "pw-a", Groups: []string{"g1", "g2"}})
	srv.AddUser(t, slapd.User{Name: "bob", Password: "pw-b", Locked: true})
	srv.AddGroup(t, "outer", slapd.GroupDN("g1"))

	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	c, err := ldap.DialURL(srv.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: roots, ServerName: "127.0.0.2"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(dn, "pw-a"); err != nil {
		t.Fatalf("alice bind: %v", err)
	}
	if err := c.Bind(slapd.UserDN("bob"), "pw-b"); err == nil {
		t.Error("locked bob could bind")
	}
	read := func(bindDN, pw string) *ldap.Entry {
		if err := c.Bind(bindDN, pw); err != nil {
			t.Fatal(err)
		}
		res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)",
			[]string{"memberOf", "sambaNTPassword"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("search: %v", err)
		}
		return res.Entries[0]
	}
	e := read(srv.BindDN, srv.BindPassword)
	if got := e.GetAttributeValues("memberOf"); len(got) != 2 {
		t.Errorf("memberOf %v", got)
	}
	if got := e.GetAttributeValue("sambaNTPassword"); got != slapd.NTPassword("pw-a") || len(got) != 32 {
		t.Errorf("sambaNTPassword %q", got)
	}
	if got := read(dn, "pw-a").GetAttributeValue("sambaNTPassword"); got != "" {
		t.Error("a user reads NT hashes")
	}
}
