package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/server/lockout"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// oathtoolTOTP is the current TOTP code of key as oathtool computes it.
func oathtoolTOTP(t *testing.T, secret []byte) string {
	t.Helper()
	path := radiuspeer.RequireToolNamed(t, "oathtool", "oathtool")
	out, err := exec.Command(path, "--totp", hex.EncodeToString(secret)).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// frontDoor starts the RADIUS front door of cfg with clients allowed from
// prefix, and returns its address and shared secret.
func frontDoor(t *testing.T, cfg *config.Config, engine *authpolicy.Engine, prefix string, log *slog.Logger) (addr, secret string, stop func()) {
	t.Helper()
	return frontDoorReply(t, cfg, engine, prefix, log, map[string]string{"Filter-Id": "vpn-users", "Session-Timeout": "28800"})
}

func frontDoorReply(t *testing.T, cfg *config.Config, engine *authpolicy.Engine, prefix string, log *slog.Logger, reply map[string]string, opts ...func(*config.RADIUSServer)) (addr, secret string, stop func()) {
	t.Helper()
	secret = "front-door-secret"
	file := filepath.Join(t.TempDir(), "nas.secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := radiuspeer.FreePorts(t, 1)[0]
	c := *cfg
	c.RADIUSServer = config.RADIUSServer{
		Enabled: true, Service: "pptp", RequireMessageAuthenticator: true,
		Listen:          netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)),
		Clients:         []config.RADIUSClient{{Prefix: netip.MustParsePrefix(prefix), SecretFile: file}},
		DuplicateWindow: time.Second,
		ReplyAttributes: reply,
	}
	for _, o := range opts {
		o(&c.RADIUSServer)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop, err := startRADIUSServer(context.Background(), &c, testGate(t, &c, engine, lockout.Defaults), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return c.RADIUSServer.Listen.String(), secret, stop
}

// testGate is a gate in front of engine with cfg as serve builds it: the
// lockout with settings s (kept in memory only), an event index in a
// temporary directory; no metrics.
func testGate(t testing.TB, cfg *config.Config, engine *authpolicy.Engine, s lockout.Settings) *gate {
	var current atomic.Pointer[running]
	current.Store(&running{cfg: cfg, engine: engine})
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GATEHOUSE_RADIUS_BENCH_INDEX") == "off" { // log.index: "", for the side-by-side benchmark
		return &gate{current: &current, lockout: lockout.New(s, nil, nil), log: log}
	}
	ix, err := events.Open(filepath.Join(t.TempDir(), "events.db"), events.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return &gate{current: &current, lockout: lockout.New(s, nil, nil), events: newEventLog(ix, log), log: log}
}

func runRadclient(t *testing.T, addr, secret, request string) string {
	t.Helper()
	path := radiuspeer.RequireTool(t, "radclient")
	cmd := exec.Command(path, "-x", "-r", "1", "-t", "3", addr, "auth", secret)
	cmd.Stdin = strings.NewReader(request)
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestRADIUSFrontDoorRadclient: FreeRADIUS's radclient against the front
// door, policy "(Password and OATH) or DIGIPASS" with real plugins; TOTP
// codes from oathtool.
func TestRADIUSFrontDoorRadclient(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	e := newE2E(t)
	engine, _ := e.engine(t, nil)
	addr, secret, _ := frontDoor(t, e.cfg, engine, "127.0.0.0/8", nil)
	pap := func(pw string) string {
		return runRadclient(t, addr, secret, fmt.Sprintf("User-Name = \"alice\"\nUser-Password = %q\nMessage-Authenticator = 0x00\n", pw))
	}

	code := oathtoolTOTP(t, e.totp.Secret)
	out := pap("correct horse" + code)
	if !strings.Contains(out, "Received Access-Accept") || !strings.Contains(out, `Filter-Id = "vpn-users"`) {
		t.Fatalf("PAP password+TOTP not accepted with the reply attributes:\n%s", out)
	}
	if out := pap("correct horse" + code); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("replayed TOTP code accepted:\n%s", out)
	}
	out = pap("wrong horse" + oathtoolTOTP(t, e.totp.Secret))
	if !strings.Contains(out, "Received Access-Reject") || !strings.Contains(out, `Reply-Message = "Gatehouse rejected the login (ref `) {
		t.Errorf("wrong password: want Access-Reject with a Reply-Message:\n%s", out)
	}
	if out := runRadclient(t, addr, secret, "User-Name = \"alice\"\nUser-Password = \"x\"\n"); !strings.Contains(out, "No reply from server") {
		t.Errorf("request without Message-Authenticator answered:\n%s", out)
	}

	// MS-CHAPv2: the secret is the password followed by the TOTP code.
	// Wait for a fresh TOTP step: the code above was consumed.
	var typed string
	for {
		c := oathtoolTOTP(t, e.totp.Secret)
		if c != code {
			typed = "correct horse" + c
			break
		}
		time.Sleep(time.Second)
	}
	var auth, peer [16]byte
	_, _ = rand.Read(auth[:])
	_, _ = rand.Read(peer[:])
	hash := mschapv2.NTHash(typed)
	nt := mschapv2.GenerateNTResponse(auth, peer, "alice", hash)
	resp := append(append(append([]byte{7, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)
	out = runRadclient(t, addr, secret, fmt.Sprintf("User-Name = \"alice\"\nMS-CHAP-Challenge = 0x%x\nMS-CHAP2-Response = 0x%x\nMessage-Authenticator = 0x00\n", auth, resp))
	ar := mschapv2.GenerateAuthenticatorResponse(hash, nt, peer, auth, "alice")
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(hash), nt, true)
	for _, want := range []string{
		"Received Access-Accept",
		fmt.Sprintf("MS-CHAP2-Success = 0x07%x", ar),
		fmt.Sprintf("MS-MPPE-Send-Key = 0x%x", send),
		fmt.Sprintf("MS-MPPE-Recv-Key = 0x%x", recv),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("MS-CHAPv2: radclient output lacks %q:\n%s", want, out)
		}
	}
}

// TestRADIUSFrontDoorCHAP: radclient's CHAP-Password (the challenge is the
// Request Authenticator) is refused while radius_server.chap is off, and
// decided by the same policy, password and TOTP code composed from
// fragments, when it is on.
func TestRADIUSFrontDoorCHAP(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	e := newE2E(t)
	engine, _ := e.engine(t, nil)
	chap := func(addr, secret, pw string) string {
		return runRadclient(t, addr, secret, fmt.Sprintf("User-Name = \"alice\"\nCHAP-Password = %q\nMessage-Authenticator = 0x00\n", pw))
	}
	addr, secret, _ := frontDoor(t, e.cfg, engine, "127.0.0.0/8", nil)
	code := oathtoolTOTP(t, e.totp.Secret)
	if out := chap(addr, secret, "correct horse"+code); !strings.Contains(out, "Received Access-Reject") || !strings.Contains(out, "radius_server.chap") {
		t.Fatalf("CHAP while off:\n%s", out)
	}
	addr, secret, _ = frontDoorReply(t, e.cfg, engine, "127.0.0.0/8", nil, nil, func(r *config.RADIUSServer) { r.CHAP = true })
	if out := chap(addr, secret, "correct horse"+code); !strings.Contains(out, "Received Access-Accept") {
		t.Fatalf("CHAP password+TOTP not accepted:\n%s", out)
	}
	if out := chap(addr, secret, "correct horse"+code); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("replayed TOTP code accepted over CHAP:\n%s", out)
	}
	if out := chap(addr, secret, "wrong horse"+oathtoolTOTP(t, e.totp.Secret)); !strings.Contains(out, "Received Access-Reject") {
		t.Errorf("wrong password accepted over CHAP:\n%s", out)
	}
}

// TestRADIUSFrontDoorUnknownClient: a NAS outside every client prefix gets
// no answer, and the drop is counted.
func TestRADIUSFrontDoorUnknownClient(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	engine, err := authpolicy.NewEngine(map[string]authpolicy.Backend{}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	addr, secret, stop := frontDoor(t, cfg, engine, "192.0.2.0/24", log)
	out := runRadclient(t, addr, secret, "User-Name = \"alice\"\nUser-Password = \"x\"\nMessage-Authenticator = 0x00\n")
	if !strings.Contains(out, "No reply from server") {
		t.Errorf("unknown client answered:\n%s", out)
	}
	stop()
	if !regexp.MustCompile(`"unknown_client":[1-9]`).MatchString(logs.String()) {
		t.Errorf("unknown client not counted:\n%s", logs.String())
	}
}

// TestRADIUSProxyChain: radclient -> Gatehouse's front door -> the RADIUS
// back-end -> FreeRADIUS. The reply attributes FreeRADIUS sends come back
// to the NAS, and the MPPE keys FreeRADIUS derived reach it re-hidden with
// the NAS's secret.
func TestRADIUSProxyChain(t *testing.T) {
	radiuspeer.RequireTool(t, "radclient")
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{{Name: "bob", Password: "bobpass",
		Reply: []string{`Filter-Id := "from-freeradius"`, `Framed-IP-Address := 10.8.0.2`}},
		{Name: "dora", Password: "dorapass", Check: []string{`SMB-Account-CTRL-TEXT := "[UL]"`}}}})
	cfg, engine := radiusBackendEngine(t, srv, "")
	addr, secret, _ := frontDoorReply(t, cfg, engine, "127.0.0.0/8", nil, nil)

	out := runRadclient(t, addr, secret, "User-Name = \"bob\"\nUser-Password = \"bobpass\"\nMessage-Authenticator = 0x00\n")
	for _, want := range []string{"Received Access-Accept", `Filter-Id = "from-freeradius"`, "Framed-IP-Address = 10.8.0.2"} {
		if !strings.Contains(out, want) {
			t.Errorf("PAP through the chain: no %q in\n%s", want, out)
		}
	}
	var auth, peer [16]byte
	_, _ = rand.Read(auth[:])
	_, _ = rand.Read(peer[:])
	hash := mschapv2.NTHash("bobpass")
	nt := mschapv2.GenerateNTResponse(auth, peer, "bob", hash)
	resp := append(append(append([]byte{3, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)
	out = runRadclient(t, addr, secret, fmt.Sprintf("User-Name = \"bob\"\nMS-CHAP-Challenge = 0x%x\nMS-CHAP2-Response = 0x%x\nMessage-Authenticator = 0x00\n", auth, resp))
	send, recv := mschapv2.MasterSessionKeys(mschapv2.HashNTHash(hash), nt, true)
	for _, want := range []string{
		"Received Access-Accept",
		fmt.Sprintf("MS-CHAP2-Success = 0x03%x", mschapv2.GenerateAuthenticatorResponse(hash, nt, peer, auth, "bob")),
		fmt.Sprintf("MS-MPPE-Send-Key = 0x%x", send),
		fmt.Sprintf("MS-MPPE-Recv-Key = 0x%x", recv),
		`Filter-Id = "from-freeradius"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("MS-CHAPv2 through the chain: no %q in\n%s", want, out)
		}
	}
	// FreeRADIUS's MS-CHAP error code (647 for a locked account) reaches the
	// NAS, not a generic 691.
	hash = mschapv2.NTHash("dorapass")
	nt = mschapv2.GenerateNTResponse(auth, peer, "dora", hash)
	resp = append(append(append([]byte{4, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)
	out = runRadclient(t, addr, secret, fmt.Sprintf("User-Name = \"dora\"\nMS-CHAP-Challenge = 0x%x\nMS-CHAP2-Response = 0x%x\nMessage-Authenticator = 0x00\n", auth, resp))
	if !strings.Contains(out, "Received Access-Reject") || !strings.Contains(out, "E=647 R=0") {
		t.Errorf("locked account through the chain: want Access-Reject with E=647:\n%s", out)
	}
}

// radiusBackendEngine is the engine of a configuration whose service pptp
// has the policy RADIUS, the radius back-end forwarding to srv; service
// holds more of the service's settings (", challenge: true"). The plugin
// processes end with the test.
func radiusBackendEngine(t *testing.T, srv *radiuspeer.Server, service string) (*config.Config, *authpolicy.Engine) {
	t.Helper()
	path := filepath.Join(worldDir(t), "gatehouse.yaml")
	text := fmt.Sprintf("state_dir: ./state\nadmin: {listen: \"\"}\nbackends:\n  RADIUS:\n    type: radius\n    options: {servers: %q, secret_file: %q}\nservices:\n  pptp: {policy: RADIUS%s}\npptp: {enabled: false}\n", srv.AuthAddr, srv.SecretFile, service)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(path)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("config: %v %v", err, ps)
	}
	engine, bs, err := buildEngine(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bs.close)
	return cfg, engine
}
