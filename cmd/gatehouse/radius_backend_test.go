package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/radius/acct"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// TestRADIUSBackendEndToEnd runs the built-in RADIUS plugin as the gateway
// does (as nobody when root) against FreeRADIUS. The shared secret file is
// mode 0600 in a directory only the gateway's user can enter: the gateway
// reads it and hands the secret to the plugin.
func TestRADIUSBackendEndToEnd(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{{Name: "alice", Password: "password",
		Reply: []string{`Filter-Id := "vpn-users"`, `Framed-IP-Address := 10.8.0.2`, `Class := "alice-class"`}}}})
	dir := t.TempDir() // 0700
	if err := os.WriteFile(filepath.Join(dir, "radius.secret"), []byte(srv.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	text := fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
plugins: {call_timeout: 5s}
backends:
  RADIUS:
    type: radius
    options:
      servers: %s
      secret_file: radius.secret
services:
  pptp: {policy: RADIUS}
pptp: {enabled: false}
`, srv.AuthAddr)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(path)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("config: %v %v", err, ps)
	}
	ctx := context.Background()
	e, bs, err := buildEngine(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.close()

	for _, c := range []struct {
		pw string
		ok bool
	}{{"password", true}, {"wrong", false}} {
		r, err := e.Authenticate(ctx, "pptp", authpolicy.Credential{Kind: authpolicy.Plaintext, User: "alice", Secret: authpolicy.NewSecret(c.pw), CallingStation: "203.0.113.7"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Accepted != c.ok {
			t.Errorf("PAP %s: accepted=%t (%s)", c.pw, r.Accepted, r.Reason())
		}
		if c.ok {
			checkRADIUSIdentity(t, r.Identity)
		}
	}
	// FreeRADIUS received the client's address as Calling-Station-Id.
	if recs := radiuspeer.ParseDetail(readFileString(t, srv.AuthDetail)); len(recs) == 0 || len(recs[0]["Calling-Station-Id"]) != 1 || recs[0]["Calling-Station-Id"][0] != "203.0.113.7" {
		t.Errorf("Calling-Station-Id not forwarded: %v", recs)
	}
	m := &authpolicy.MSCHAPv2Response{UserName: "alice"}
	_, _ = rand.Read(m.AuthenticatorChallenge[:])
	_, _ = rand.Read(m.PeerChallenge[:])
	hash := mschapv2.NTHash("password")
	m.NTResponse = mschapv2.GenerateNTResponse(m.AuthenticatorChallenge, m.PeerChallenge, "alice", hash)
	r, err := e.Authenticate(ctx, "pptp", authpolicy.Credential{Kind: authpolicy.MSCHAPv2, User: "alice", MSCHAPv2: m})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Accepted {
		t.Fatalf("MS-CHAPv2 rejected: %s", r.Reason())
	}
	checkRADIUSIdentity(t, r.Identity)
	if want := mschapv2.GenerateAuthenticatorResponse(hash, m.NTResponse, m.PeerChallenge, m.AuthenticatorChallenge, "alice"); r.AuthenticatorResponse != want {
		t.Errorf("authenticator response %q, want %q", r.AuthenticatorResponse, want)
	}
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(hash), m.NTResponse, true)
	if r.Keys == nil || r.Keys.Send != send || r.Keys.Recv != recv {
		t.Error("MPPE keys are not those of RFC 3079 for the password")
	}
}

// checkRADIUSIdentity: the Access-Accept's reply attributes reached the
// login's identity.
func checkRADIUSIdentity(t *testing.T, id authpolicy.Identity) {
	t.Helper()
	for k, want := range map[string]string{"Filter-Id": "vpn-users", "Framed-IP-Address": "10.8.0.2", "Class": "alice-class"} {
		if got := id.Attributes[k]; len(got) != 1 || got[0] != want {
			t.Errorf("identity %s = %v, want %s (attributes %v)", k, got, want, id.Attributes)
		}
	}
}

// TestRADIUSAccountingConfig: radius_accounting in the configuration
// accounts a session to FreeRADIUS (the PPTP front door will call the same).
func TestRADIUSAccountingConfig(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acct.secret"), []byte(srv.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	text := fmt.Sprintf(`backends:
  P: {type: memory, users: {alice: [x]}}
services:
  pptp: {policy: P}
pptp: {enabled: false}
radius_accounting:
  servers: [%s]
  secret_file: acct.secret
  nas_identifier: gw-test
`, srv.AcctAddr)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(path)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("config: %v %v", err, ps)
	}
	a, err := newAccountant(cfg, slog.New(slog.DiscardHandler))
	if err != nil || a == nil {
		t.Fatalf("newAccountant: %v", err)
	}
	s := a.Start(acct.Record{SessionID: "cfg-1", User: "alice"}, nil)
	s.Stop(acct.CauseAdminReset)
	<-s.Done()
	var got []string
	for _, r := range srv.Records() {
		if len(r["Acct-Session-Id"]) > 0 && r["Acct-Session-Id"][0] == "cfg-1" && r["NAS-Identifier"][0] == "gw-test" {
			got = append(got, r["Acct-Status-Type"][0])
		}
	}
	if strings.Join(got, ",") != "Start,Stop" {
		t.Errorf("detail records %v, want Start,Stop", got)
	}
}

func readFileString(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
