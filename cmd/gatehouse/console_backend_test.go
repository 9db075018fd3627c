package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/console"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/gateway"
)

// consoleServe is a "gatehouse serve" with the console on: the RADIUS
// front door for service radius, policy (Password and OATH) or DIGIPASS
// over the store, and the backend serve built for the console.
type consoleServe struct {
	path   string // the configuration
	b      *consoleBackend
	admin  string // the admin listener's address
	radius string // the RADIUS front door's address
	logs   *syncBuffer
	stop   func() string
}

func startConsoleServe(t *testing.T) *consoleServe {
	t.Helper()
	dir := worldDir(t) // plugins run as nobody and must reach the store
	if err := os.WriteFile(filepath.Join(dir, "nas.secret"), []byte("nas-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(`state_dir: ./state
admin: {listen: 127.0.0.1:0, console: true}
plugins: {call_timeout: 5s}
backends:
  Password: {type: local}
  OATH: {type: oath}
  DIGIPASS: {type: digipass}
services:
  radius: {policy: "(Password and OATH) or DIGIPASS"}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: 127.0.0.1:0
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	built := make(chan *consoleBackend, 1)
	consoleBuilt = func(b *consoleBackend) { built <- b }
	t.Cleanup(func() { consoleBuilt = nil })
	s := &consoleServe{path: path}
	s.logs, s.stop = startServe(t, path)
	s.admin = waitFor(t, s.logs, `"msg":"admin listener started","addr":"`)
	s.radius = waitFor(t, s.logs, `"msg":"RADIUS front door started","addr":"`)
	select {
	case s.b = <-built:
	case <-time.After(10 * time.Second):
		t.Fatal("serve built no console backend")
	}
	return s
}

// radiusLogin sends a PAP Access-Request for user with password to the
// front door and reports whether it was accepted.
func (s *consoleServe) radiusLogin(t *testing.T, user, password string) bool {
	t.Helper()
	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: s.radius, Secret: radclient.Secret("nas-secret")}}, Timeout: 10 * time.Second}, nil)
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, user)
	resp, err := c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(password)})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Code == lr.CodeAccessAccept
}

// events flushes the index and returns the events f selects.
func (s *consoleServe) events(t *testing.T, f events.Filter) []events.Event {
	t.Helper()
	ctx := context.Background()
	if err := s.b.index.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := s.b.Events(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// adminMessages are the messages of the admin events by operator.
func (s *consoleServe) adminMessages(t *testing.T, operator string) []string {
	t.Helper()
	var out []string
	for _, e := range s.events(t, events.Filter{Kinds: []events.Kind{events.KindAdmin}}) {
		if e.Operator == operator {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestConsoleBackend drives the Backend serve built over the real store,
// engine and event index: accounts made with gatehouse admin sign in; a
// user created and a token enrolled through it log in at the RADIUS front
// door with a code computed from the enrolled key URI; a user disabled
// through it is refused at once; each change is an admin event naming
// the operator.
func TestConsoleBackend(t *testing.T) {
	s := startConsoleServe(t)
	ctx := context.Background()
	b := s.b

	// Accounts, made by the CLI while the gateway runs.
	for _, a := range [][]string{{"ops", "operator", "ops password"}, {"watcher", "viewer", "watcher password"}} {
		if code, out, errOut := gh(t, a[2]+"\n", "admin", "add", a[0], "--role", a[1], "--password-stdin", "--config", s.path); code != 0 {
			t.Fatalf("admin add %s: %d %s %s", a[0], code, out, errOut)
		}
	}
	ops, ok, err := b.SignIn(ctx, "ops", "ops password")
	if err != nil || !ok || ops != (console.Account{Name: "ops", Role: console.Operator}) {
		t.Fatalf("SignIn(ops) = %+v %v %v", ops, ok, err)
	}
	watcher, ok, err := b.SignIn(ctx, "watcher", "watcher password")
	if err != nil || !ok || watcher.Role != console.Viewer || watcher.CanChange() {
		t.Fatalf("SignIn(watcher) = %+v %v %v", watcher, ok, err)
	}
	for _, c := range [][2]string{{"ops", "wrong"}, {"nobody", "ops password"}, {"OPS", "ops password"}} {
		if a, ok, err := b.SignIn(ctx, c[0], c[1]); ok || err != nil || a != (console.Account{}) {
			t.Errorf("SignIn(%s, %s) = %+v %v %v; want refused", c[0], c[1], a, ok, err)
		}
	}
	if a, ok, err := b.Account(ctx, "ops"); !ok || err != nil || a != ops {
		t.Errorf("Account(ops) = %+v %v %v", a, ok, err)
	}
	if _, ok, err := b.Account(ctx, "nobody"); ok || err != nil {
		t.Errorf("Account(nobody) = %v %v", ok, err)
	}

	// A viewer changes nothing.
	if err := b.CreateGroup(ctx, watcher, "nope"); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("CreateGroup by a viewer = %v, want ErrInvalid", err)
	}

	// A user and a token, through the console.
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("CreateGroup", b.CreateGroup(ctx, ops, "vpn-users"))
	must("CreateUser", b.CreateUser(ctx, ops, console.NewUser{Name: "alice", Password: "correct horse", Groups: []string{"vpn-users"}}))
	if err := b.CreateUser(ctx, ops, console.NewUser{Name: "alice"}); !errors.Is(err, console.ErrExists) || err.Error() != `user "alice": already exists` {
		t.Errorf("CreateUser again = %v", err)
	}
	if err := b.CreateUser(ctx, ops, console.NewUser{Name: "bob", Groups: []string{"no-such-group"}}); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("CreateUser in a missing group = %v", err)
	}
	if _, err := b.User(ctx, "bob"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("a refused CreateUser left bob behind: %v", err)
	}
	if err := b.SetVPN(ctx, ops, "alice", "sometimes"); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("SetVPN(sometimes) = %v", err)
	}
	enr, err := b.Enroll(ctx, ops, console.EnrollRequest{User: "alice", Kind: "totp"})
	must("Enroll", err)
	if !strings.HasPrefix(enr.URI, "otpauth://totp/Gatehouse:alice?") || !strings.HasPrefix(string(enr.QRPNG), "\x89PNG") ||
		enr.Token.User != "alice" || enr.Token.Digits != 6 || enr.Token.Source != store.SourceOATH {
		t.Fatalf("Enroll = %+v (URI %q)", enr.Token, enr.URI)
	}
	if _, err := b.Enroll(ctx, ops, console.EnrollRequest{User: "alice", Kind: "motp"}); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("Enroll(motp) = %v", err)
	}
	if _, err := b.Enroll(ctx, ops, console.EnrollRequest{User: "nobody", Kind: "totp"}); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("Enroll(nobody) = %v", err)
	}
	key, err := otp.ParseKeyURI(enr.URI)
	must("ParseKeyURI", err)
	code := func(offset int64) string {
		return otp.Code(key.Secret, key.Params, uint64(otp.Step(key.Params, time.Now())+offset))
	}

	u, err := b.User(ctx, "alice")
	must("User", err)
	if u.Disabled || u.VPN != "use_group" || !u.HasPassword || !slices.Equal(u.Groups, []string{"vpn-users"}) ||
		len(u.Tokens) != 1 || u.Tokens[0].Serial != enr.Token.Serial {
		t.Errorf("User(alice) = %+v", u)
	}

	// A dry run consumes nothing: the same code then logs in for real.
	c0 := code(0)
	dr, err := b.DryRun(ctx, ops, "radius", "alice", "correct horse"+c0, "plaintext")
	must("DryRun", err)
	if !dr.Accepted || dr.Branch != "Password and OATH" || !strings.Contains(strings.Join(dr.Lines, "\n"), "dry run: nothing consumed") {
		t.Errorf("DryRun = %+v", dr)
	}
	if dr, err := b.DryRun(ctx, ops, "radius", "alice", "correct horse"+c0, "mschapv2"); err != nil || !dr.Accepted {
		t.Errorf("DryRun mschapv2 = %+v %v", dr, err)
	}
	if dr, err := b.DryRun(ctx, ops, "radius", "alice", "wrong horse"+c0, "plaintext"); err != nil || dr.Accepted {
		t.Errorf("DryRun with a wrong password = %+v %v", dr, err)
	}
	if _, err := b.DryRun(ctx, ops, "nope", "alice", "x", "plaintext"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("DryRun on an unknown service = %v", err)
	}
	if _, err := b.DryRun(ctx, ops, "radius", "alice", "x", "chap"); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("DryRun with credential chap = %v", err)
	}
	if !s.radiusLogin(t, "alice", "correct horse"+c0) {
		t.Fatal("alice's login with the code of her enrolled token was refused")
	}
	if s.radiusLogin(t, "alice", "correct horse"+c0) {
		t.Error("a used code was accepted again")
	}

	// Disabled through the console: refused at once, though the code is
	// good.
	must("SetDisabled", b.SetDisabled(ctx, ops, "alice", true))
	if s.radiusLogin(t, "alice", "correct horse"+code(1)) {
		t.Fatal("a disabled user's login was accepted")
	}
	refused := s.events(t, events.Filter{Kinds: []events.Kind{events.KindLogin}, User: "alice", Result: events.Refused})
	if len(refused) == 0 || !strings.Contains(fmt.Sprint(refused[len(refused)-1].Branches), "disabled") {
		t.Errorf("the refusal does not say the user is disabled: %+v", refused)
	}
	must("SetDisabled false", b.SetDisabled(ctx, ops, "alice", false))
	must("SetVPN", b.SetVPN(ctx, ops, "alice", "on"))
	must("SetPassword", b.SetPassword(ctx, ops, "alice", "staple battery"))
	must("RemoveMember", b.RemoveMember(ctx, ops, "vpn-users", "alice"))
	if err := b.RemoveMember(ctx, ops, "vpn-users", "alice"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("RemoveMember again = %v", err)
	}
	gs, err := b.Groups(ctx)
	must("Groups", err)
	if len(gs) != 1 || gs[0].Name != "vpn-users" || len(gs[0].Members) != 0 {
		t.Errorf("Groups = %+v", gs)
	}
	must("AddMember", b.AddMember(ctx, ops, "vpn-users", "alice"))
	if err := b.AddMember(ctx, ops, "vpn-users", "alice"); !errors.Is(err, console.ErrExists) {
		t.Errorf("AddMember again = %v", err)
	}
	us, err := b.Users(ctx, "ALI")
	must("Users", err)
	if len(us) != 1 || us[0].Name != "alice" || us[0].VPN != "on" || len(us[0].Tokens) != 1 {
		t.Errorf("Users(ALI) = %+v", us)
	}
	if us, err := b.Users(ctx, "zzz"); err != nil || len(us) != 0 {
		t.Errorf("Users(zzz) = %+v %v", us, err)
	}

	// DIGIPASS: import, assign, resync, unassign.
	pskcFile, err := os.ReadFile("../../internal/pskc/testdata/rfc6030-figure7.pskcxml")
	must("read PSKC", err)
	if _, err := b.ImportPSKC(ctx, ops, pskcFile, "", ""); !errors.Is(err, console.ErrInvalid) || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("ImportPSKC without the password = %v", err)
	}
	if _, err := b.ImportPSKC(ctx, ops, pskcFile, "wrong", ""); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("ImportPSKC with a wrong password = %v", err)
	}
	if n, err := b.ImportPSKC(ctx, ops, pskcFile, "qwerty", ""); n != 1 || err != nil {
		t.Fatalf("ImportPSKC = %d %v", n, err)
	}
	if n, err := b.ImportPSKC(ctx, ops, pskcFile, "qwerty", ""); n != 0 || err != nil {
		t.Errorf("ImportPSKC again = %d %v", n, err)
	}
	must("Assign", b.Assign(ctx, ops, "987654321", "alice"))
	if err := b.Assign(ctx, ops, "no-such-token", "alice"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("Assign(no-such-token) = %v", err)
	}
	seed := []byte("12345678901234567890")
	hotp := otp.Params{Kind: otp.HOTP, Algorithm: otp.SHA1, Digits: 8}
	if err := b.Resync(ctx, ops, "987654321", "11111111", "22222222"); !errors.Is(err, console.ErrInvalid) {
		t.Errorf("Resync with wrong codes = %v", err)
	}
	must("Resync", b.Resync(ctx, ops, "987654321", otp.Code(seed, hotp, 40), otp.Code(seed, hotp, 41)))
	if !s.radiusLogin(t, "alice", otp.Code(seed, hotp, 42)) {
		t.Error("the DIGIPASS code after the resynchronised ones was refused")
	}
	must("Unassign", b.Unassign(ctx, ops, "987654321"))
	ts, err := b.Tokens(ctx)
	must("Tokens", err)
	if len(ts) != 2 {
		t.Errorf("Tokens = %+v", ts)
	}
	for _, tk := range ts {
		if tk.Serial == "987654321" && (tk.User != "" || tk.Source != store.SourceDIGIPASS || tk.Digits != 8) {
			t.Errorf("the DIGIPASS token = %+v", tk)
		}
	}

	must("Unlock", b.Unlock(ctx, ops, "ghost"))

	// Sessions: the PPTP front door is off.
	if ss, err := b.Sessions(ctx); err != nil || len(ss) != 0 {
		t.Errorf("Sessions = %+v %v", ss, err)
	}
	if err := b.Disconnect(ctx, ops, "6756A1F0-1"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("Disconnect = %v", err)
	}

	// Services and status.
	svcs, err := b.Services(ctx)
	must("Services", err)
	if len(svcs) != 1 || svcs[0].Name != "radius" || svcs[0].Policy != "(Password and OATH) or DIGIPASS" ||
		!strings.Contains(svcs[0].Explain, "Branches, tried in order:") || !strings.Contains(svcs[0].Explain, "plaintext") ||
		strings.Contains(svcs[0].Explain, "chap-md5") {
		t.Errorf("Services = %+v", svcs)
	}
	st, err := b.Status(ctx)
	must("Status", err)
	fd := map[string]bool{}
	for _, f := range st.FrontDoors {
		fd[f.Name] = f.Enabled
	}
	figures := map[string]string{}
	for _, m := range st.Metrics {
		figures[m.Name] = m.Value
	}
	if st.Version == "" || st.Started.IsZero() || !fd["RADIUS"] || fd["PPTP"] || len(st.Plugins) != 3 ||
		figures["Logins accepted"] != "2" || figures["Logins refused"] != "2" {
		t.Errorf("Status = %+v", st)
	}

	// Sign-in records.
	b.RecordSignIn(ctx, "ops", "127.0.0.1:51234", true, "")
	b.RecordSignIn(ctx, "mallory", "192.0.2.9", false, "wrong name or password")
	var signIns []string
	for _, e := range s.events(t, events.Filter{Kinds: []events.Kind{events.KindSignIn}}) {
		signIns = append(signIns, fmt.Sprintf("%s %s %s %s", e.Operator, e.Result, e.Client, e.Reason))
	}
	if want := []string{"ops accepted 127.0.0.1 ", "mallory refused 192.0.2.9 wrong name or password"}; !slices.Equal(signIns, want) {
		t.Errorf("sign-in events %q, want %q", signIns, want)
	}

	// One admin event per change, each naming the operator.
	want := []string{
		"created group vpn-users",
		"created user alice with a password, groups vpn-users",
		"enrolled token " + enr.Token.Serial + " (totp, 6 digits) for alice",
		`dry run of service radius (plaintext, nothing consumed): accepted by branch "Password and OATH"`,
		`dry run of service radius (mschapv2, nothing consumed): accepted by branch "Password and OATH"`,
		"dry run of service radius (plaintext, nothing consumed): refused",
		"disabled user alice",
		"enabled user alice",
		"set the VPN access of alice to on",
		"set the password of alice",
		"removed alice from group vpn-users",
		"added alice to group vpn-users",
		"imported 1 of 1 tokens from a PSKC file: 987654321",
		"imported 0 of 1 tokens from a PSKC file; already in the store: 987654321",
		"assigned token 987654321 to alice",
		"token 987654321 resynchronised: next counter 42",
		"unassigned token 987654321 from alice",
		"unlocked ghost (no failed logins were recorded)",
	}
	if got := s.adminMessages(t, "ops"); !slices.Equal(got, want) {
		t.Errorf("admin events:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	for _, e := range s.events(t, events.Filter{Kinds: []events.Kind{events.KindAdmin}, User: "alice"}) {
		if e.Operator != "ops" {
			t.Errorf("admin event without its operator: %+v", e)
		}
	}

	// An account made a viewer, or removed, since it signed in changes
	// nothing more.
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"admin", "role", "ops", "viewer"}, "ops is now a viewer and may not change anything"},
		{[]string{"admin", "remove", "ops"}, "the operator account ops was removed"},
	} {
		if code, out, errOut := gh(t, "", append(step.args, "--config", s.path)...); code != 0 {
			t.Fatalf("%v: %d %s %s", step.args, code, out, errOut)
		}
		if err := b.CreateGroup(ctx, ops, "late"); !errors.Is(err, console.ErrInvalid) || !strings.Contains(err.Error(), step.want) {
			t.Errorf("after %v: CreateGroup = %v", step.args, err)
		}
	}

	logs := s.stop()
	if !strings.Contains(logs, `"msg":"admin change","kind":"admin","user":"alice","message":"disabled user alice","operator":"ops"`) {
		t.Errorf("the log lacks the admin change with its operator:\n%s", logs)
	}
	for _, secret := range []string{"correct horse", "staple battery", "ops password", "qwerty", c0, enr.URI} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds the secret %q", secret)
		}
	}
}

// TestConsoleHTTP signs in to the console of a running gateway through
// its admin listener with a cookie jar, makes a change, and signs out;
// the admin API beside it still wants the token.
func TestConsoleHTTP(t *testing.T) {
	s := startConsoleServe(t)
	if code, out, errOut := gh(t, "ops password\n", "admin", "add", "ops", "--role", "operator", "--password-stdin", "--config", s.path); code != 0 {
		t.Fatalf("admin add: %d %s %s", code, out, errOut)
	}
	base := "http://" + s.admin
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		t.Helper()
		resp, err := client.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)

	// / leads to the console, which asks to sign in.
	resp, _ := get("/")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/signin" {
		t.Fatalf("GET / ended at %s with %s", resp.Request.URL, resp.Status)
	}
	// A wrong password is refused and recorded.
	if resp, _ := post("/ui/signin", url.Values{"name": {"ops"}, "password": {"wrong"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %s", resp.Status)
	}
	resp, _ = post("/ui/signin", url.Values{"name": {"ops"}, "password": {"ops password"}})
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/sessions" {
		t.Fatalf("sign-in ended at %s with %s", resp.Request.URL, resp.Status)
	}
	resp, body := get("/ui/groups")
	m := csrfRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("groups page: %s, no CSRF token:\n%s", resp.Status, body)
	}
	csrf := m[1]
	resp, body = post("/ui/groups", url.Values{"name": {"web-made"}, "csrf": {csrf}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "web-made") {
		t.Errorf("create group: %s\n%s", resp.Status, body)
	}
	gs, err := s.b.Groups(context.Background())
	if err != nil || len(gs) != 1 || gs[0].Name != "web-made" {
		t.Errorf("the store's groups after the form: %+v %v", gs, err)
	}
	if got := s.adminMessages(t, "ops"); !slices.Equal(got, []string{"created group web-made"}) {
		t.Errorf("admin events %q", got)
	}
	resp, _ = post("/ui/signout", url.Values{"csrf": {csrf}})
	if resp.Request.URL.Path != "/ui/signin" {
		t.Errorf("sign-out ended at %s with %s", resp.Request.URL, resp.Status)
	}
	if resp, _ := get("/ui/groups"); resp.Request.URL.Path != "/ui/signin" {
		t.Errorf("after sign-out the groups page is served: %s %s", resp.Request.URL, resp.Status)
	}

	var signIns []string
	for _, e := range s.events(t, events.Filter{Kinds: []events.Kind{events.KindSignIn}}) {
		signIns = append(signIns, fmt.Sprintf("%s %s %s", e.Operator, e.Result, e.Client))
	}
	if want := []string{"ops refused 127.0.0.1", "ops accepted 127.0.0.1"}; !slices.Equal(signIns, want) {
		t.Errorf("sign-in events %q, want %q", signIns, want)
	}

	// The admin API keeps its token; the console's cookie is no substitute.
	if resp, _ := get("/v1/services"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /v1/services without the token: %s", resp.Status)
	}
	if resp, _ := get("/ui/../v1/services"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /ui/../v1/services without the token: %s", resp.Status)
	}
	if resp, _ := get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}
	if logs := s.stop(); strings.Contains(logs, "ops password") {
		t.Error("the log holds the operator's password")
	}
}

// Changes that can take access away ask for a re-check of the running
// PPTP sessions at once, as the CLI's do through the store's revisions
// (watchStore): a user disabled in the console loses their sessions
// without waiting for the next poll.
func TestConsoleChangesRecheckSessions(t *testing.T) {
	dir := worldDir(t)
	cfg, ps := config.Parse(filepath.Join(dir, "gatehouse.yaml"), []byte("state_dir: ./state\nbackends: {Password: {type: local}}\nservices: {pptp: {policy: Password}}\n"))
	if len(ps.Errors()) > 0 {
		t.Fatal(ps)
	}
	ctx := context.Background()
	st, err := openStore(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc := &rechecker{trigger: make(chan string, 1)}
	b := newConsoleBackend(consoleBackend{store: st, recheck: rc, events: newEventLog(nil, nil)})
	if err := st.AddOperator(ctx, "ops", "ops password", store.RoleOperator); err != nil {
		t.Fatal(err)
	}
	ops := console.Account{Name: "ops", Role: console.Operator}
	if err := b.CreateGroup(ctx, ops, "vpn-users"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateUser(ctx, ops, console.NewUser{Name: "bob"}); err != nil {
		t.Fatal(err)
	}
	asked := func() bool {
		select {
		case why := <-rc.trigger:
			return why == "console"
		default:
			return false
		}
	}
	if asked() {
		t.Error("creating a group or a user asked for a re-check")
	}
	for _, c := range []struct {
		what   string
		change func() error
	}{
		{"disable", func() error { return b.SetDisabled(ctx, ops, "bob", true) }},
		{"VPN access", func() error { return b.SetVPN(ctx, ops, "bob", "off") }},
		{"add member", func() error { return b.AddMember(ctx, ops, "vpn-users", "bob") }},
		{"remove member", func() error { return b.RemoveMember(ctx, ops, "vpn-users", "bob") }},
	} {
		if err := c.change(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if !asked() {
			t.Errorf("%s did not ask for a re-check of the sessions", c.what)
		}
	}
	// A change that fails asks for nothing.
	if err := b.SetDisabled(ctx, ops, "nobody", true); !errors.Is(err, console.ErrNotFound) || asked() {
		t.Errorf("disable nobody: %v", err)
	}
}

// consoleErr keeps the store's text and adds the console's sentinel.
func TestConsoleErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{fmt.Errorf("user %q: %w", "bob", store.ErrNotFound), console.ErrNotFound},
		{fmt.Errorf("session %q: %w", "x", gateway.ErrNoSession), console.ErrNotFound},
		{fmt.Errorf("group %q: %w", "g", store.ErrExists), console.ErrExists},
		{fmt.Errorf("user name: %w: empty", store.ErrInvalid), console.ErrInvalid},
		{fmt.Errorf("token %q: %w", "t", store.ErrAssigned), console.ErrInvalid},
		{fmt.Errorf("token t: %w within 1000 counters", errNotConsecutive), console.ErrInvalid},
	} {
		got := consoleErr(tc.err)
		if !errors.Is(got, tc.want) || !errors.Is(got, errors.Unwrap(tc.err)) || got.Error() != tc.err.Error() {
			t.Errorf("consoleErr(%v) = %v; want %v, same text", tc.err, got, tc.want)
		}
	}
	other := errors.New("disk I/O error")
	if got := consoleErr(other); got != other {
		t.Errorf("a failure became %v", got)
	}
	if consoleErr(nil) != nil {
		t.Error("consoleErr(nil) is not nil")
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as
// PEM files, and returns the certificate.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "gatehouse test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestConsoleTLS: with admin.tls_cert_file and tls_key_file the admin
// listener serves HTTPS only, the console included, and picks up a
// renewed certificate without a restart; a certificate that does not
// load refuses the start.
func TestConsoleTLS(t *testing.T) {
	dir, path := writeServeConfig(t, `state_dir: ./state
admin:
  listen: 0.0.0.0:0
  socket: admin.sock
  console: true
  tls_cert_file: tls/admin.crt
  tls_key_file: tls/admin.key
backends:
  Demo: {type: memory, users: {alice: [open-sesame]}}
services:
  pptp: {policy: Demo}
pptp: {enabled: false}
`)
	if err := os.Mkdir(filepath.Join(dir, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls", "admin.crt"), filepath.Join(dir, "tls", "admin.key")

	// No certificate yet: serve refuses to start, naming the files.
	err := serve(context.Background(), path, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "admin TLS") || !strings.Contains(err.Error(), certFile) {
		t.Fatalf("serve without the certificate: %v", err)
	}

	first := writeCert(t, certFile, keyFile, 1)
	logs, stop := startServe(t, path)
	addr := waitFor(t, logs, `"msg":"admin listener started","addr":"`)
	_, port, _ := net.SplitHostPort(addr)
	addr = "127.0.0.1:" + port
	served := func() *x509.Certificate {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	pool := x509.NewCertPool()
	pool.AddCert(first)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ui/signin" {
		t.Errorf("GET https://%s/ ended at %s with %s", addr, resp.Request.URL, resp.Status)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the listener answers plain HTTP")
		}
	}

	// A renewed certificate is served from the next handshake on.
	time.Sleep(1100 * time.Millisecond) // a second newer, and past the once-a-second look
	second := writeCert(t, certFile, keyFile, 2)
	deadline := time.Now().Add(5 * time.Second)
	for served().SerialNumber.Cmp(second.SerialNumber) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate is not served")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A broken file keeps the last good certificate.
	time.Sleep(1100 * time.Millisecond)
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got := served(); got.SerialNumber.Cmp(second.SerialNumber) != 0 {
		t.Errorf("after a broken renewal the served certificate is %v", got.SerialNumber)
	}
	out := stop()
	for _, want := range []string{`"tls":true,"console":true`, `"msg":"admin TLS: certificate reloaded"`, `"msg":"admin TLS: the changed certificate does not load; serving the previous one"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

// gatehouse config check refuses the console on a public address without
// TLS, at the line that turns it on, and says what to write instead.
func TestConsoleConfigCheck(t *testing.T) {
	_, path := writeServeConfig(t, `backends:
  Demo: {type: memory, users: {alice: [open-sesame]}}
services:
  pptp: {policy: Demo}
admin:
  listen: 0.0.0.0:9723
  console: true
`)
	code, out, errOut := gh(t, "", "config", "check", "--config", path)
	text := out + errOut
	if code != 1 || !strings.Contains(text, path+":7:12: admin.console: admin.listen 0.0.0.0:9723 is not a loopback address") ||
		!strings.Contains(text, "set admin.tls_cert_file and admin.tls_key_file, or listen on 127.0.0.1:9723") {
		t.Errorf("config check: exit %d\n%s", code, text)
	}
	if err := serve(context.Background(), path, io.Discard); err == nil || !strings.Contains(err.Error(), "admin.console") {
		t.Errorf("serve started with the console on a public address without TLS: %v", err)
	}
}
