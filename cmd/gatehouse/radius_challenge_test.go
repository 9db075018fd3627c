package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

var radclientState = regexp.MustCompile(`State = 0x([0-9a-f]+)`)

// challengeState is the State of radclient's Access-Challenge in out.
func challengeState(t *testing.T, out string) string {
	t.Helper()
	if !strings.Contains(out, "Received Access-Challenge") || !strings.Contains(out, `Reply-Message = "Enter your one-time code"`) {
		t.Fatalf("want an Access-Challenge with the prompt:\n%s", out)
	}
	m := radclientState.FindStringSubmatch(out)
	if m == nil || len(m[1]) != 32 {
		t.Fatalf("no State of 16 bytes in the Access-Challenge:\n%s", out)
	}
	return m[1]
}

// papRequest is radclient's input for a PAP request; state ("" for none)
// is the hex State, more are further attribute lines.
func papRequest(user, pw, state string, more ...string) string {
	r := fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\n", user, pw)
	if state != "" {
		r += "State = 0x" + state + "\n"
	}
	for _, m := range more {
		r += m + "\n"
	}
	return r
}

// challengeService turns challenge on for the e2e configuration's service.
func challengeService(t *testing.T, cfg *config.Config) {
	t.Helper()
	s, ok := cfg.Services.Get("pptp")
	if !ok {
		t.Fatal("no service pptp")
	}
	s.Challenge = true
}

// TestRADIUSFrontDoorChallenge: FreeRADIUS's radclient as the NAS. The
// password alone gets an Access-Challenge (State and prompt); the State
// with the TOTP code (oathtool's) gets Access-Accept. The State again, a
// State sent for another user or from another NAS (source address
// 127.0.0.2, another NAS-Identifier), and one past challenge_timeout get
// Access-Reject, each with its reason in the log; a wrong password gets
// the plain reject, no challenge.
func TestRADIUSFrontDoorChallenge(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	e := newE2E(t)
	challengeService(t, e.cfg)
	engine, _ := e.engine(t, nil)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	twoNASes := func(r *config.RADIUSServer) {
		r.Clients = append(r.Clients, config.RADIUSClient{Prefix: netip.MustParsePrefix("127.0.0.2/32"), SecretFile: r.Clients[0].SecretFile})
	}
	addr, secret, _ := frontDoorReply(t, e.cfg, engine, "127.0.0.1/32", log, map[string]string{"Filter-Id": "vpn-users"}, twoNASes)
	send := func(req string) string { return runRadclient(t, addr, secret, req) }
	const nas1 = `NAS-Identifier = "vpn-1"`

	// Wrong password: the plain reject of today.
	out := send(papRequest("alice", "wrong horse", "", nas1))
	if !strings.Contains(out, "Received Access-Reject") || strings.Contains(out, "State = ") {
		t.Fatalf("wrong password:\n%s", out)
	}

	// Two rounds.
	state := challengeState(t, send(papRequest("alice", "correct horse", "", nas1)))
	code := oathtoolTOTP(t, e.totp.Secret)
	out = send(papRequest("alice", code, state, nas1))
	if !strings.Contains(out, "Received Access-Accept") || !strings.Contains(out, `Filter-Id = "vpn-users"`) {
		t.Fatalf("second round with the TOTP code:\n%s", out)
	}
	// Replayed.
	if out := send(papRequest("alice", e.totpCode(1), state, nas1)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("replayed State:\n%s", out)
	}

	// Foreign: another user, another source address, another
	// NAS-Identifier. The challenge survives them for its own answer.
	state = challengeState(t, send(papRequest("alice", "correct horse", "", nas1)))
	for name, req := range map[string]string{
		"other user":           papRequest("bob", e.totpCode(1), state, nas1),
		"other NAS address":    papRequest("alice", e.totpCode(1), state, nas1, "Packet-Src-IP-Address = 127.0.0.2"),
		"other NAS-Identifier": papRequest("alice", e.totpCode(1), state, `NAS-Identifier = "vpn-2"`),
	} {
		if out := send(req); !strings.Contains(out, "Received Access-Reject") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
	if out := send(papRequest("alice", e.totpCode(1), state, nas1)); !strings.Contains(out, "Received Access-Accept") {
		t.Errorf("the right answer after the foreign ones:\n%s", out)
	}

	text := logs.String()
	for _, want := range []string{
		`"msg":"RADIUS login needs a one-time code: Access-Challenge sent","front_door":"radius","user":"alice"`,
		`"reason":"State already used: a replayed answer to an Access-Challenge"`,
		`"reason":"State issued to another user"`,
		`"reason":"State issued to another NAS (source address, NAS-Identifier or NAS-IP-Address differ)"`,
		`"client":"127.0.0.2:`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("log lacks %s:\n%s", want, text)
		}
	}
	if strings.Contains(text, "correct horse") || strings.Contains(text, code) {
		t.Errorf("a secret in the log:\n%s", text)
	}

	// Expired: a front door whose challenges live 1.5s.
	addr, secret, _ = frontDoorReply(t, e.cfg, engine, "127.0.0.1/32", log, nil, func(r *config.RADIUSServer) {
		r.ChallengeTimeout = 1500 * time.Millisecond
	})
	state = challengeState(t, runRadclient(t, addr, secret, papRequest("alice", "correct horse", "")))
	time.Sleep(2 * time.Second)
	if out := runRadclient(t, addr, secret, papRequest("alice", e.totpCode(1), state)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("expired State:\n%s", out)
	}
	if !strings.Contains(logs.String(), `"reason":"State expired: the answer came after radius_server.challenge_timeout"`) {
		t.Errorf("no expiry reason in the log:\n%s", logs.String())
	}
}

// TestRADIUSChallengeThroughFreeRADIUSProxy: radclient -> FreeRADIUS as a
// proxy -> the front door. FreeRADIUS forwards the Access-Challenge, State
// and prompt, to its client and the State back in the second round:
// Access-Accept.
func TestRADIUSChallengeThroughFreeRADIUSProxy(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	e := newE2E(t)
	challengeService(t, e.cfg)
	engine, _ := e.engine(t, nil)
	addr, secret, _ := frontDoor(t, e.cfg, engine, "127.0.0.0/8", nil)
	proxy := radiuspeer.Start(t, radiuspeer.Options{Secret: "nas-to-proxy", Proxy: &radiuspeer.Proxy{Addr: addr, Secret: secret}})

	out := runRadclient(t, proxy.AuthAddr, "nas-to-proxy", papRequest("alice", "correct horse", "", `NAS-Identifier = "vpn-1"`))
	state := challengeState(t, out)
	out = runRadclient(t, proxy.AuthAddr, "nas-to-proxy", papRequest("alice", oathtoolTOTP(t, e.totp.Secret), state, `NAS-Identifier = "vpn-1"`))
	if !strings.Contains(out, "Received Access-Accept") || !strings.Contains(out, `Filter-Id = "vpn-users"`) {
		t.Fatalf("second round through the proxy:\n%s", out)
	}
	if out := runRadclient(t, proxy.AuthAddr, "nas-to-proxy", papRequest("alice", e.totpCode(1), state, `NAS-Identifier = "vpn-1"`)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("replayed through the proxy:\n%s", out)
	}
}

// TestGateChallengeIsNotALogin: a first round that ends in a challenge is
// not a login decision: no event, no lockout count (threshold 2, three
// challenges), no login metric. A wrong password in a first round is a
// refused login as ever, and the second round is a login.
func TestGateChallengeIsNotALogin(t *testing.T) {
	password := memory.New(memory.Options{})
	password.SetUser("alice", memory.User{Secrets: []string{"pw-secret"}})
	oath := memory.New(memory.Options{Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyPlaintext, Lengths: []int{6}, OneTime: true})
	oath.SetUser("alice", memory.User{Secrets: []string{"111111"}})
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{"Password": password, "OATH": oath},
		[]authpolicy.Service{{Name: "radius", Policy: "Password and OATH"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[running]
	current.Store(&running{cfg: &config.Config{}, engine: engine, backends: &backends{}})
	ix, err := events.Open(filepath.Join(t.TempDir(), "events.db"), events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	m := newMetrics(&current)
	g := &gate{current: &current, metrics: m, lockout: lockout.New(lockout.Settings{Threshold: 2, Window: time.Minute, Duration: time.Hour}, nil, nil),
		events: newEventLog(ix, slog.New(slog.DiscardHandler)), log: slog.New(slog.DiscardHandler)}
	ctx := authpolicy.WithChallenge(context.Background())
	for range 3 {
		res, err := g.authenticate(ctx, "radius", "radius", plain("alice", "pw-secret"))
		if err != nil || res.Accepted || res.Challenge == nil {
			t.Fatalf("first round: %v %+v", err, res)
		}
	}
	if locked, _ := g.lockout.Check("alice", time.Now()); locked {
		t.Fatal("challenges counted as failed logins")
	}
	if res, _ := g.authenticate(ctx, "radius", "radius", plain("alice", "wrong")); res.Accepted || res.Challenge != nil {
		t.Fatalf("wrong password: %+v", res)
	}
	if res, _ := g.authenticate(context.Background(), "radius", "radius", plain("alice", "pw-secret111111")); !res.Accepted {
		t.Fatalf("second round: %s", res.Reason())
	}
	if err := ix.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs, err := ix.Query(context.Background(), events.Filter{Kinds: []events.Kind{events.KindLogin}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, string(e.Result))
	}
	if strings.Join(got, ",") != string(events.Refused)+","+string(events.Accepted) {
		t.Errorf("login events %v, want the wrong password and the second round", got)
	}
	var total float64
	mfs, _ := m.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "gatehouse_logins_total" {
			for _, c := range mf.GetMetric() {
				total += c.GetCounter().GetValue()
			}
		}
	}
	if total != 2 {
		t.Errorf("gatehouse_logins_total sums to %v, want 2", total)
	}
}
