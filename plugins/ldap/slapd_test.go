package ldap_test

import (
	"context"
	"crypto/rand"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
	"github.com/gatehouse-vpn/gatehouse/test/peers/slapd"
)

// directory is one slapd with the users the tests log in as.
type directory struct {
	srv *slapd.Server
}

var users = []slapd.User{
	{Name: "alice", Password: "alice-pw", Groups: []string{"vpn-users", "admins"}},
	{Name: "bob", Password: "bob-pw", Groups: []string{"vpn-users"}},
	{Name: "carol", Password: "carol-pw", Groups: []string{"vpn-users"}, Disabled: true},
	{Name: "dave", Password: "dave-pw", Groups: []string{"vpn-users"}, Locked: true},
	{Name: "erin", Password: "erin-pw", NoNTHash: true},
	{Name: "jürgen", Mail: "juergen@example.test", Password: "jürgen-pw", Groups: []string{"vpn-users"}},
	{Name: "paren(x)*", Password: "paren-pw"},
	{Name: `back\slash`, Password: "back-pw"},
}

func startDirectory(t *testing.T) *directory {
	t.Helper()
	srv := slapd.Start(t, slapd.Options{})
	for _, u := range users {
		srv.AddUser(t, u)
	}
	return &directory{srv: srv}
}

func (d *directory) backend(t testing.TB, override map[string]string) *ldap.Backend {
	t.Helper()
	opts := d.srv.BackendOptions()
	for k, v := range override {
		if v == "" {
			delete(opts, k)
		} else {
			opts[k] = v
		}
	}
	b := ldap.New()
	if err := b.Configure(context.Background(), opts); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// mschapRequest is what a peer that typed password would send.
func mschapRequest(user, password string) sdk.MSCHAPv2Request {
	var r sdk.MSCHAPv2Request
	rand.Read(r.AuthenticatorChallenge[:])
	rand.Read(r.PeerChallenge[:])
	r.UserName = user
	r.NTResponse = mschapv2.GenerateNTResponse(r.AuthenticatorChallenge, r.PeerChallenge, user, mschapv2.NTHash(password))
	return r
}

// TestSlapd runs every OpenLDAP case against one slapd.
func TestSlapd(t *testing.T) {
	d := startDirectory(t)
	b := d.backend(t, nil)

	t.Run("Plaintext", func(t *testing.T) {
		for _, c := range []struct {
			user, pw, want string // want "" is an accept
		}{
			{"alice", "alice-pw", ""},
			{"alice@example.test", "alice-pw", ""}, // UPN-style name through upn_filter (mail)
			{"jürgen", "jürgen-pw", ""},
			{"paren(x)*", "paren-pw", ""},
			{`back\slash`, "back-pw", ""},
			// The directory's equality rule for uid (caseIgnoreMatch)
			// decides: case variants name the same account.
			{"ALICE", "alice-pw", ""},
			{"alice", "bob-pw", "wrong password"},
			{"alice", "alice-pw ", "wrong password"},
			{"alice", "", "empty password refused"},
			{"nobody-here", "x", "no such user in the directory"},
			{"carol", "carol-pw", "account disabled"},
			{"dave", "dave-pw", "account locked"},
		} {
			v, err := b.VerifyPlaintext(ctx(t), c.user, c.pw)
			if err != nil {
				t.Errorf("%s: %v", c.user, err)
				continue
			}
			if v.OK != (c.want == "") || v.Reason != c.want {
				t.Errorf("%s/%q: got OK=%v reason %q, want reason %q", c.user, c.pw, v.OK, v.Reason, c.want)
			}
		}
	})

	t.Run("MSCHAPv2", func(t *testing.T) {
		desc, _ := b.Describe(ctx(t))
		if !desc.Has(sdk.CapVerifyMSCHAPv2) {
			t.Fatalf("capabilities %v lack verify-mschapv2 with nt_hash_attribute set", desc.Capabilities)
		}
		for _, c := range []struct {
			user, typed, want string
		}{
			{"alice", "alice-pw", ""},
			{"jürgen", "jürgen-pw", ""},
			{"alice", "bob-pw", "wrong password"},
			{"carol", "carol-pw", "account disabled"},
			{"dave", "dave-pw", "account locked"},
			{"erin", "erin-pw", "no NT hash (sambaNTPassword) readable for this user in the directory"},
			{"nobody-here", "x", "no such user in the directory"},
		} {
			v, err := b.VerifyMSCHAPv2(ctx(t), c.user, mschapRequest(c.user, c.typed))
			if err != nil {
				t.Errorf("%s: %v", c.user, err)
				continue
			}
			if v.OK != (c.want == "") || v.Reason != c.want {
				t.Errorf("%s: got OK=%v reason %q, want %q", c.user, v.OK, v.Reason, c.want)
			}
			if v.OK {
				want := mschapv2.HashNTHash(mschapv2.NTHash(c.typed))
				if v.PasswordHashHash == nil || *v.PasswordHashHash != want {
					t.Errorf("%s: PasswordHashHash is not MD4(NT hash): MPPE keys would differ from the client's", c.user)
				}
			}
		}
		// Without the service account, sambaNTPassword is not readable
		// (the ACL): no accept, and no error either.
		anon := d.backend(t, map[string]string{"bind_dn": "", "bind_password_file": ""})
		v, err := anon.VerifyMSCHAPv2(ctx(t), "alice", mschapRequest("alice", "alice-pw"))
		if err != nil || v.OK {
			t.Errorf("anonymous search read the NT hash: %v %v", v, err)
		}
		plain := d.backend(t, map[string]string{"nt_hash_attribute": ""})
		if desc, _ := plain.Describe(ctx(t)); desc.Has(sdk.CapVerifyMSCHAPv2) {
			t.Errorf("without nt_hash_attribute the back-end still offers verify-mschapv2")
		}
	})

	t.Run("Identity", func(t *testing.T) {
		for _, mode := range []map[string]string{nil, {"groups": "search"}} {
			bk := b
			if mode != nil {
				bk = d.backend(t, mode)
			}
			id, err := bk.Lookup(ctx(t), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if !id.Found || id.Disabled || id.Locked || strings.Join(id.Groups, ",") != "admins,vpn-users" {
				t.Errorf("groups=%s alice: %+v", mode["groups"], id)
			}
			if got := id.Attributes["mail"]; len(got) != 1 || got[0] != "alice@example.test" {
				t.Errorf("alice mail: %v", got)
			}
		}
		for _, c := range []struct {
			user             string
			found, dis, lock bool
		}{{"carol", true, true, false}, {"dave", true, false, true}, {"bob", true, false, false}, {"nobody-here", false, false, false}} {
			id, err := b.Lookup(ctx(t), c.user)
			if err != nil {
				t.Fatal(err)
			}
			if id.Found != c.found || id.Disabled != c.dis || id.Locked != c.lock {
				t.Errorf("%s: %+v", c.user, id)
			}
		}
	})

	// LDAP injection: every name below would match alice, or every user,
	// if it reached the filter unescaped. None may log in with alice's
	// password, and none is found.
	t.Run("Injection", func(t *testing.T) {
		for _, name := range []string{
			"*", "a*", "*e", "al*ce", "alice)(uid=*", "*)(uid=*))(|(uid=*", "alice)(|(objectClass=*)",
			"alice\x00", "\x00", "alice\x00)(uid=*", `alice\00`, `\2a`, "alice\n", "alice\r\n", "ali\tce",
			"alice ", " alice", "ålice", strings.Repeat("a", 300), "\xff\xfe", "alice@example.test)(mail=*",
		} {
			v, err := b.VerifyPlaintext(ctx(t), name, "alice-pw")
			if err != nil || v.OK {
				t.Errorf("%q: plaintext OK=%v err=%v", name, v.OK, err)
			}
			m, err := b.VerifyMSCHAPv2(ctx(t), name, mschapRequest(name, "alice-pw"))
			if err != nil || m.OK {
				t.Errorf("%q: MS-CHAPv2 OK=%v err=%v", name, m.OK, err)
			}
			id, err := b.Lookup(ctx(t), name)
			if err != nil || id.Found {
				t.Errorf("%q: lookup found=%v err=%v", name, id.Found, err)
			}
		}
	})

	t.Run("TLS", func(t *testing.T) {
		ldaps := strings.Replace(d.srv.LDAPSURL, "ldaps", "ldaps", 1)
		for _, c := range []struct {
			name string
			opts map[string]string
			ok   bool
		}{
			{"StartTLS, test CA", nil, true},
			{"StartTLS, other CA", map[string]string{"ca_file": d.srv.UntrustedCAFile}, false},
			{"StartTLS, system CAs", map[string]string{"ca_file": ""}, false},
			{"StartTLS, wrong name", map[string]string{"tls_server_name": "ldap.example.com"}, false},
			{"LDAPS, test CA", map[string]string{"url": ldaps, "start_tls": "false"}, true},
			{"LDAPS, other CA", map[string]string{"url": ldaps, "start_tls": "false", "ca_file": d.srv.UntrustedCAFile}, false},
		} {
			bk := d.backend(t, c.opts)
			v, err := bk.VerifyPlaintext(ctx(t), "alice", "alice-pw")
			if c.ok && (err != nil || !v.OK) {
				t.Errorf("%s: %v %v", c.name, v, err)
			}
			if !c.ok {
				if err == nil || v.OK {
					t.Errorf("%s: accepted a server whose certificate does not verify (OK=%v)", c.name, v.OK)
				} else if !strings.Contains(err.Error(), "certificate") {
					t.Errorf("%s: error does not say the certificate is the problem: %v", c.name, err)
				}
			}
		}
	})

	t.Run("Failover", func(t *testing.T) {
		dead := closedPort(t)
		bk := d.backend(t, map[string]string{"url": dead + " " + d.srv.URL})
		if v, err := bk.VerifyPlaintext(ctx(t), "bob", "bob-pw"); err != nil || !v.OK {
			t.Fatalf("first server down: %v %v", v, err)
		}
		if err := bk.Health(ctx(t)); err != nil {
			t.Errorf("health: %v", err)
		}
	})

	t.Run("Timeout", func(t *testing.T) {
		silent := silentServer(t)
		bk := d.backend(t, map[string]string{"url": silent, "timeout": "300ms", "start_tls": "false"})
		start := time.Now()
		v, err := bk.VerifyPlaintext(ctx(t), "bob", "bob-pw")
		if err == nil || v.OK {
			t.Fatalf("a server that never answers: OK=%v err=%v", v.OK, err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v with timeout 300ms", el)
		}
		// The caller's deadline wins over a longer operation timeout.
		bk = d.backend(t, map[string]string{"url": silent, "timeout": "30s", "start_tls": "false"})
		c, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, err := bk.VerifyPlaintext(c, "bob", "bob-pw"); err == nil {
			t.Fatal("no error past the deadline")
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("took %v with a 300ms deadline", el)
		}
	})

	t.Run("Conformance", func(t *testing.T) {
		sdktest.Run(t, ldap.New(), sdktest.Options{Config: d.srv.BackendOptions(), User: "bob", Secret: "bob-pw"})
	})

	// Last: the server restarts under a back-end with pooled connections,
	// and the next login works without a plugin restart.
	t.Run("Restart", func(t *testing.T) {
		if v, err := b.VerifyPlaintext(ctx(t), "bob", "bob-pw"); err != nil || !v.OK {
			t.Fatalf("before: %v %v", v, err)
		}
		d.srv.Stop()
		v, err := b.VerifyPlaintext(ctx(t), "bob", "bob-pw")
		if err == nil || v.OK {
			t.Fatalf("directory down: OK=%v err=%v, want an error (fail closed)", v.OK, err)
		}
		if err := b.Health(ctx(t)); err == nil {
			t.Error("health is fine with the directory down")
		}
		if err := d.srv.Restart(); err != nil {
			t.Fatal(err)
		}
		for _, f := range []func() (bool, error){
			func() (bool, error) { v, err := b.VerifyPlaintext(ctx(t), "bob", "bob-pw"); return v.OK, err },
			func() (bool, error) {
				v, err := b.VerifyMSCHAPv2(ctx(t), "bob", mschapRequest("bob", "bob-pw"))
				return v.OK, err
			},
		} {
			if ok, err := f(); err != nil || !ok {
				t.Fatalf("after the restart: OK=%v err=%v", ok, err)
			}
		}
	})
}

// closedPort is an ldap:// URL on which nothing listens.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "ldap://" + addr
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return "ldap://" + l.Addr().String()
}

// A service account the directory refuses is "could not decide", never a
// verdict: the gateway fails the branch closed.
func TestSlapdServiceAccountRefused(t *testing.T) {
	d := &directory{srv: slapd.Start(t, slapd.Options{})}
	d.srv.AddUser(t, users[0])
	b := d.backend(t, map[string]string{"bind_password_file": "", "bind_password": "not-the-password"})
	if v, err := b.VerifyPlaintext(ctx(t), "alice", "alice-pw"); err == nil || v.OK || !strings.Contains(err.Error(), "service account") {
		t.Errorf("OK=%v err=%v", v.OK, err)
	}
	if _, err := b.Lookup(ctx(t), "alice"); err == nil {
		t.Error("lookup without a usable service account: no error")
	}
	if err := b.Health(ctx(t)); err == nil {
		t.Error("healthy without a usable service account")
	}
}
