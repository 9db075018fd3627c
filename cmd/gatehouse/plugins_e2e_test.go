package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"log/slog"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

const e2ePolicy = "(Password and OATH) or DIGIPASS"

// e2e is a gateway configuration with the three built-in back-ends, their
// store seeded through the CLI as an operator would: user alice in group
// vpn-users, a TOTP soft token enrolled for her, and the DIGIPASS token of
// RFC 6030 figure 7 (8-digit HOTP, imported with the PSKC password) assigned
// to her.
type e2e struct {
	path  string
	cfg   *config.Config
	totp  otp.Key // alice's soft token, as her authenticator app has it
	hotp  otp.Params
	seed  []byte // the DIGIPASS secret from RFC 6030
	dpSer string
}

func newE2E(t testing.TB) *e2e {
	t.Helper()
	dir := worldDir(t)
	path := filepath.Join(dir, "gatehouse.yaml")
	text := fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
plugins: {call_timeout: 5s}
backends:
  Password: {type: local}
  OATH: {type: oath}
  DIGIPASS: {type: digipass}
services:
  pptp: {policy: %q}
pptp: {enabled: false}
`, e2ePolicy)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(path)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("config: %v %v", err, ps)
	}
	e := &e2e{path: path, cfg: cfg, seed: []byte("12345678901234567890"), dpSer: "987654321",
		hotp: otp.Params{Kind: otp.HOTP, Algorithm: otp.SHA1, Digits: 8}}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append(args, "--config", path), strings.NewReader(stdin), &out, &errb); code != 0 {
			t.Fatalf("gatehouse %v: exit %d\n%s%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	cli("", "group", "add", "vpn-users")
	cli("correct horse\n", "user", "add", "alice", "--password-stdin", "--group", "vpn-users")
	out := cli("", "token", "enroll", "alice", "--type", "totp", "--no-qr")
	uri := regexp.MustCompile(`otpauth://\S+`).FindString(out)
	if e.totp, err = otp.ParseKeyURI(uri); err != nil {
		t.Fatalf("enroll printed no usable URI: %v\n%s", err, out)
	}
	out = cli("qwerty\n", "token", "import", "--pskc", "../../internal/pskc/testdata/rfc6030-figure7.pskcxml", "--password-stdin")
	if !strings.Contains(out, "1 of 1 tokens imported") {
		t.Fatalf("import: %s", out)
	}
	cli("", "token", "assign", e.dpSer, "alice")
	return e
}

func (e *e2e) engine(t testing.TB, log *slog.Logger) (*authpolicy.Engine, *backends) {
	t.Helper()
	engine, bs, err := buildEngine(context.Background(), e.cfg, log)
	if err != nil {
		t.Fatalf("buildEngine: %v", err)
	}
	t.Cleanup(bs.close)
	return engine, bs
}

func (e *e2e) totpCode(offset int) string {
	return otp.Code(e.totp.Secret, e.totp.Params, uint64(otp.Step(e.totp.Params, time.Now())+int64(offset)))
}

func (e *e2e) hotpCode(counter uint64) string { return otp.Code(e.seed, e.hotp, counter) }

func mschap(user, secret string) authpolicy.Credential {
	c, err := credential(authpolicy.MSCHAPv2, user, authpolicy.NewSecret(secret))
	if err != nil {
		panic(err)
	}
	return c
}

func plain(user, secret string) authpolicy.Credential {
	return authpolicy.Credential{Kind: authpolicy.Plaintext, User: user, Secret: authpolicy.NewSecret(secret)}
}

func login(t *testing.T, engine *authpolicy.Engine, cred authpolicy.Credential, wantBranch string) *authpolicy.Result {
	t.Helper()
	res, err := engine.Authenticate(context.Background(), "pptp", cred)
	if err != nil {
		t.Fatal(err)
	}
	if res.Branch != wantBranch || res.Accepted != (wantBranch != "") {
		t.Fatalf("%s login: accepted=%v branch=%q (%s), want branch %q", cred.Kind, res.Accepted, res.Branch, res.Reason(), wantBranch)
	}
	return res
}

// TestPluginsEndToEnd: "(Password and OATH) or DIGIPASS" through real plugin
// processes, under MS-CHAPv2 and plaintext: accept, replay refused, HOTP
// counter resynchronisation, disabled user refused, state kept across a
// restart, and no secret in the logs.
func TestPluginsEndToEnd(t *testing.T) {
	e := newE2E(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	engine, bs := e.engine(t, log)

	// MS-CHAPv2: password then the current TOTP code.
	code := e.totpCode(0)
	cred := mschap("alice", "correct horse"+code)
	res := login(t, engine, cred, "Password and OATH")
	nt := mschapv2.NTHash("correct horse" + code)
	r := cred.MSCHAPv2
	if want := mschapv2.GenerateAuthenticatorResponse(nt, r.NTResponse, r.PeerChallenge, r.AuthenticatorChallenge, "alice"); res.AuthenticatorResponse != want {
		t.Errorf("authenticator response %s, want %s", res.AuthenticatorResponse, want)
	}
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(nt), r.NTResponse, true)
	if res.Keys == nil || res.Keys.Send != send || res.Keys.Recv != recv {
		t.Error("MPPE keys differ from the RFC 3079 derivation over the typed secret")
	}
	if strings.Join(res.Identity.Groups, ",") != "vpn-users" {
		t.Errorf("groups %v", res.Identity.Groups)
	}
	// Replay: the same code again, in either credential kind.
	login(t, engine, mschap("alice", "correct horse"+code), "")
	login(t, engine, plain("alice", "correct horse"+code), "")
	// Wrong password with a fresh code.
	login(t, engine, plain("alice", "wrong horse"+e.totpCode(1)), "")

	// Plaintext: the next step's code (within the skew window).
	login(t, engine, plain("alice", "correct horse"+e.totpCode(1)), "Password and OATH")

	// DIGIPASS alone, 8-digit HOTP: counter 0, then its replay, then
	// counter 1 over plaintext, then a code beyond the look-ahead.
	login(t, engine, mschap("alice", e.hotpCode(0)), "DIGIPASS")
	login(t, engine, mschap("alice", e.hotpCode(0)), "")
	login(t, engine, plain("alice", e.hotpCode(1)), "DIGIPASS")
	login(t, engine, plain("alice", e.hotpCode(200)), "")

	// Resynchronise from two consecutive codes far ahead.
	var out, errb bytes.Buffer
	if code := run([]string{"token", "resync", e.dpSer, e.hotpCode(200), e.hotpCode(201), "--config", e.path}, nil, &out, &errb); code != 0 {
		t.Fatalf("resync: exit %d %s%s", code, out.String(), errb.String())
	}
	login(t, engine, plain("alice", e.hotpCode(201)), "") // used by the resync
	login(t, engine, mschap("alice", e.hotpCode(202)), "DIGIPASS")

	// State survives a restart of every plugin.
	bs.close()
	engine, bs = e.engine(t, log)
	login(t, engine, plain("alice", "correct horse"+e.totpCode(1)), "")
	login(t, engine, mschap("alice", e.hotpCode(202)), "")

	// A disabled user is refused by every branch.
	run([]string{"user", "disable", "alice", "--config", e.path}, nil, &out, &errb)
	res = login(t, engine, plain("alice", e.hotpCode(203)), "")
	if want := `"DIGIPASS" rejected: DIGIPASS: no usable digipass token (no token assigned, or the user is disabled or unknown)`; !strings.Contains(res.Reason(), want) {
		t.Errorf("disabled user: %s", res.Reason())
	}
	run([]string{"user", "enable", "alice", "--config", e.path}, nil, &out, &errb)
	login(t, engine, plain("alice", e.hotpCode(203)), "DIGIPASS")

	for _, secret := range []string{"correct horse", e.totpCode(0), e.hotpCode(202), e.hotpCode(203)} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("a secret (%d characters) appears in the logs", len(secret))
		}
	}
	_ = bs
}

// TestPluginsSeeChangesAtOnce: the built-in plugins cache what they read
// from the store, yet every change the operator makes with the CLI while
// the gateway runs (another process writing the database) takes effect on
// the very next login: a new password, a disabled user, a token taken
// from one user and given to another.
func TestPluginsSeeChangesAtOnce(t *testing.T) {
	e := newE2E(t)
	engine, _ := e.engine(t, nil)
	cli := func(stdin string, args ...string) {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(append(args, "--config", e.path), strings.NewReader(stdin), &out, &errb); code != 0 {
			t.Fatalf("gatehouse %v: exit %d %s%s", args, code, out.String(), errb.String())
		}
	}
	// dry runs: the same codes serve every login of the test.
	try := func(what string, cred authpolicy.Credential, wantBranch string) {
		t.Helper()
		res, err := engine.Authenticate(context.Background(), "pptp", cred, authpolicy.DryRun())
		if err != nil {
			t.Fatal(err)
		}
		if res.Branch != wantBranch || res.Accepted != (wantBranch != "") {
			t.Fatalf("%s: accepted=%v branch=%q (%s), want branch %q", what, res.Accepted, res.Branch, res.Reason(), wantBranch)
		}
	}
	code := e.totpCode(0)
	for range 3 { // warm the plugins' caches
		try("before", mschap("alice", "correct horse"+code), "Password and OATH")
	}

	cli("new horse\n", "user", "passwd", "alice", "--password-stdin")
	try("old password after passwd", mschap("alice", "correct horse"+code), "")
	try("new password after passwd", mschap("alice", "new horse"+code), "Password and OATH")
	try("new password after passwd, plaintext", plain("alice", "new horse"+code), "Password and OATH")

	cli("", "user", "disable", "alice")
	try("disabled", mschap("alice", "new horse"+code), "")
	try("disabled, DIGIPASS", mschap("alice", e.hotpCode(0)), "")
	cli("", "user", "enable", "alice")
	try("enabled again", mschap("alice", "new horse"+code), "Password and OATH")
	try("enabled again, DIGIPASS", mschap("alice", e.hotpCode(0)), "DIGIPASS")

	cli("bob's pw\n", "user", "add", "bob", "--password-stdin")
	try("bob without a token", mschap("bob", e.hotpCode(0)), "")
	cli("", "token", "unassign", e.dpSer)
	cli("", "token", "assign", e.dpSer, "bob")
	try("DIGIPASS taken from alice", mschap("alice", e.hotpCode(0)), "")
	try("DIGIPASS given to bob", mschap("bob", e.hotpCode(0)), "DIGIPASS")
}

// TestPluginsDisabledUser: the local store refuses a disabled user in the
// password branch even with the right password and code.
func TestPluginsDisabledUser(t *testing.T) {
	e := newE2E(t)
	var out, errb bytes.Buffer
	run([]string{"user", "disable", "alice", "--config", e.path}, nil, &out, &errb)
	engine, _ := e.engine(t, nil)
	res := login(t, engine, mschap("alice", "correct horse"+e.totpCode(0)), "")
	if !strings.Contains(res.Branches[0].Reason, "Password has no secret for user") {
		t.Errorf("reason: %s", res.Reason())
	}
	res = login(t, engine, plain("alice", "correct horse"+e.totpCode(0)), "")
	if !strings.Contains(res.Branches[0].Reason, "Password: user disabled") {
		t.Errorf("reason: %s", res.Reason())
	}
}

// TestPluginsKilledAndRestarted: a built-in plugin killed with SIGKILL is
// restarted by the host; logins meanwhile fail closed, never accept, and
// once it is back they succeed. As root, every plugin runs as nobody with
// no capabilities.
func TestPluginsKilledAndRestarted(t *testing.T) {
	e := newE2E(t)
	engine, bs := e.engine(t, nil)
	pids := map[string]int{}
	for _, s := range bs.host.Status() {
		pids[s.Name] = s.PID
		if s.State != host.StateRunning {
			t.Fatalf("%s: %s", s.Name, s.State)
		}
	}
	if os.Geteuid() == 0 {
		for name, pid := range pids {
			status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				t.Fatal(err)
			}
			uid := regexp.MustCompile(`(?m)^Uid:\s+(\d+)`).FindStringSubmatch(string(status))
			capEff := regexp.MustCompile(`(?m)^CapEff:\s+(\w+)`).FindStringSubmatch(string(status))
			if uid == nil || uid[1] != "65534" || capEff == nil || capEff[1] != "0000000000000000" {
				t.Errorf("plugin %s runs as uid %v with CapEff %v; want nobody (65534) with none", name, uid, capEff)
			}
		}
	} else {
		t.Log("SKIP part: not root, so plugins run as this user; the nobody/capabilities check needs root")
	}
	if err := syscall.Kill(pids["OATH"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Right after the kill: whatever happens, no accept of a wrong secret
	// and no accept without the OATH plugin's say.
	res, err := engine.Authenticate(context.Background(), "pptp", mschap("alice", "correct horse000000"))
	if err != nil || res.Accepted {
		t.Fatalf("login while OATH was down: %v accepted=%v", err, res.Accepted)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err = engine.Authenticate(context.Background(), "pptp", mschap("alice", "correct horse"+e.totpCode(0)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful login after the restart: %s", res.Reason())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range bs.host.Status() {
		if s.Name == "OATH" && (s.Restarts < 1 || s.PID == pids["OATH"] || s.LastError == "") {
			t.Errorf("OATH status after the kill: %+v", s)
		}
	}
}

// TestServePluginList: the gateway starts its built-in plugins at boot and
// "gatehouse plugin list" shows them through the admin listener.
func TestServePluginList(t *testing.T) {
	e := newE2E(t)
	data, _ := os.ReadFile(e.path)
	text := strings.Replace(string(data), `admin: {listen: ""}`, `admin: {listen: "127.0.0.1:0"}`, 1)
	if err := os.WriteFile(e.path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, e.path, logs) }()
	addr := waitFor(t, logs, `"msg":"admin listener started","addr":"`)
	code, out, stderr := gh(t, "", "plugin", "list", "--admin", addr, "--config", e.path)
	if code != 0 {
		t.Fatalf("plugin list: exit %d %s", code, stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^NAME\s+VERSION\s+PROTOCOL\s+CAPABILITIES\s+PID\s+STATE\s+RESTARTS\s+WAITED/REFUSED\s+LAST ERROR$`),
		regexp.MustCompile(`(?m)^Password\s+dev\s+2\s+fragments,verify-mschapv2,verify-plaintext,identity\s+\d+\s+running\s+0\s+0/0\s+-$`),
		regexp.MustCompile(`(?m)^OATH\s+dev\s+2\s+fragments,verify-plaintext\s+\d+\s+running\s+0\s+0/0\s+-$`),
		regexp.MustCompile(`(?m)^DIGIPASS\s+dev\s+2\s+fragments,verify-plaintext\s+\d+\s+running\s+0\s+0/0\s+-$`),
	} {
		if !want.MatchString(out) {
			t.Errorf("plugin list lacks %s:\n%s", want, out)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := gh(t, "", "plugin", "list", "--admin", addr); code != 1 || !strings.Contains(stderr, "is the gateway running?") {
		t.Errorf("plugin list with the gateway stopped: exit %d %s", code, stderr)
	}
}
