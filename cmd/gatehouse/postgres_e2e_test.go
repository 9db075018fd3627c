package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
	"github.com/gatehouse-vpn/gatehouse/test/peers/postgres"
	"github.com/gatehouse-vpn/gatehouse/test/radload"
)

// The end-to-end proofs of the PostgreSQL store (issue 15): real
// "gatehouse serve" processes, each with its own configuration and state
// directory, sharing one PostgreSQL database and one key, logging in
// through their RADIUS front doors.

const pgNASSecret = "pg-e2e-nas-secret"

// pgShared is one database that several gateways share: its connection
// string (readable by plugins.user: the CA file is copied where nobody can
// read it) and the key every gateway holds.
type pgShared struct {
	srv *postgres.Server
	dsn string
	key []byte
}

func startPGShared(t *testing.T, o postgres.Options) *pgShared {
	t.Helper()
	srv := postgres.Start(t, o)
	dsn := srv.CreateDatabase(t)
	// The harness's CA lives in the server's private directory; the
	// built-in back-ends run as plugins.user and must read it for
	// sslmode=verify-full, as they would read /etc/ssl on a real host.
	pub := worldDir(t)
	ca, err := os.ReadFile(srv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	caPath := filepath.Join(pub, "pg-ca.crt")
	if err := os.WriteFile(caPath, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslrootcert", caPath)
	u.RawQuery = q.Encode()
	key := make([]byte, seal.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return &pgShared{srv: srv, dsn: u.String(), key: key}
}

// open opens the shared store from the test, for set-up.
func (p *pgShared) open(t *testing.T) *store.Store {
	t.Helper()
	s, err := seal.New(p.key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenPostgres(context.Background(), p.dsn, s, store.PostgresOptions{MaxConns: 16})
	if err != nil {
		t.Fatalf("open postgres: %v\n%s", err, p.srv.Log())
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fastHashes makes SetPassword cheap while the test sets up many users; a
// login compares with the sealed copy and never computes the hash.
func fastHashes(t *testing.T) {
	saved := store.PasswordHashParams
	store.PasswordHashParams = store.Argon2Params{Time: 1, Memory: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	t.Cleanup(func() { store.PasswordHashParams = saved })
}

// gwProc is one "gatehouse serve" process.
type gwProc struct {
	name, dir, cfg string
	addr           string // its RADIUS front door
	cmd            *exec.Cmd
	logs           *syncBuffer
	done           chan struct{}
	exitErr        error
}

// gatewayConfig writes a gateway's configuration into a new directory
// every user can enter (plugins run as nobody when the test is root):
// the store section (storeYAML), the back-ends and the RADIUS service's
// policy, the NAS secret, and for postgres the DSN file and the shared
// key, at the default store/secret.key under state_dir.
func gatewayConfig(t *testing.T, p *pgShared, storeYAML, policy string) (dir, cfg string) {
	t.Helper()
	dir = worldDir(t)
	if err := os.WriteFile(filepath.Join(dir, "nas.secret"), []byte(pgNASSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p != nil {
		postgres.WriteDSNFile(t, dir, p.dsn)
		if err := os.MkdirAll(filepath.Join(dir, "state", "store"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state", "store", "secret.key"), p.key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := fmt.Sprintf(`state_dir: ./state
admin: {listen: "", socket: admin.sock}
plugins: {call_timeout: 5s}
%s
backends:
  Password: {type: local}
  OATH: {type: oath}
services:
  radius: {policy: %s}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: 127.0.0.1:0
  client_rate: 0
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
`, storeYAML, policy)
	cfg = filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

const pgStoreYAML = "store: {driver: postgres, dsn_file: postgres.dsn, max_conns: 8}"

// startGateway runs "gatehouse serve -c cfg" as a process of its own and
// waits for its RADIUS front door.
func startGateway(t *testing.T, name, dir, cfg string) *gwProc {
	t.Helper()
	g := spawnGateway(t, name, dir, cfg)
	g.waitReady(t)
	return g
}

// spawnGateway starts "gatehouse serve -c cfg" as a process of its own,
// which is stopped (SIGTERM) when the test ends.
func spawnGateway(t *testing.T, name, dir, cfg string) *gwProc {
	t.Helper()
	self, err := selfPath()
	if err != nil {
		t.Fatal(err)
	}
	g := &gwProc{name: name, dir: dir, cfg: cfg, logs: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(self, "serve", "-c", cfg)
	g.cmd.Env = append(os.Environ(), cliEnv+"=1")
	g.cmd.Stdout, g.cmd.Stderr = g.logs, g.logs
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.exitErr = g.cmd.Wait(); close(g.done) }()
	t.Cleanup(func() {
		if g.running() {
			_ = g.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-g.done:
			case <-time.After(15 * time.Second):
				_ = g.cmd.Process.Kill()
				<-g.done
			}
		}
		if t.Failed() {
			t.Logf("gateway %s log:\n%s", g.name, g.logs.String())
		}
	})
	return g
}

// waitReady waits for the gateway's RADIUS front door and notes its
// address.
func (g *gwProc) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	const started = `"msg":"RADIUS front door started","addr":"`
	for {
		s := g.logs.String()
		if i := strings.Index(s, started); i >= 0 {
			rest := s[i+len(started):]
			g.addr = rest[:strings.IndexByte(rest, '"')]
			return
		}
		if !g.running() || time.Now().After(deadline) {
			t.Fatalf("gateway %s did not start its RADIUS front door (exit: %v):\n%s", g.name, g.exitErr, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (g *gwProc) running() bool {
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// children lists the process ids of the gateway's children: its plugin
// processes.
func (g *gwProc) children(t *testing.T) []int {
	t.Helper()
	var pids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", g.cmd.Process.Pid))
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				pids = append(pids, n)
			}
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids)
}

// waitLog waits a little for a log line holding all of subs: the front
// door may log a decision just after it answers.
func (g *gwProc) waitLog(subs ...string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
	lines:
		for _, l := range strings.Split(g.logs.String(), "\n") {
			for _, s := range subs {
				if !strings.Contains(l, s) {
					continue lines
				}
			}
			return true
		}
	}
	return false
}

// logLines returns the gateway's JSON log lines whose msg is msg.
func (g *gwProc) logLines(msg string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// papLogin sends one PAP Access-Request to the gateway and returns the
// answer's code.
func (g *gwProc) papLogin(t *testing.T, user, secret string) lr.Code {
	t.Helper()
	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: g.addr, Secret: radclient.Secret(pgNASSecret)}},
		Timeout: 8 * time.Second, Retries: -1}, nil)
	p := &lr.Packet{}
	rfc2865.UserName_SetString(p, user)
	resp, err := c.Exchange(context.Background(), &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(secret)})
	if err != nil {
		t.Errorf("gateway %s: PAP %s: %v", g.name, user, err)
		return 0
	}
	return resp.Code
}

// loginEvents asks the running gateway for its login events with result
// ("" for all; gatehouse logs over the admin socket).
func (g *gwProc) loginEvents(t *testing.T, result string) []map[string]any {
	t.Helper()
	args := []string{"logs", "--kind", "login", "--json", "--limit", "1000", "-c", g.cfg}
	if result != "" {
		args = append(args, "--result", result)
	}
	code, out, stderr := gh(t, "", args...)
	if code != 0 {
		t.Fatalf("gatehouse %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
	}
	var evs []map[string]any
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("gatehouse logs --json: %v\n%s", err, out)
	}
	return evs
}

var totpParams = otp.Params{Kind: otp.TOTP, Period: 30 * time.Second}

// totpCode is the code of secret at step.
func totpCode(secret []byte, step int64) string { return otp.Code(secret, totpParams, uint64(step)) }

func nowStep() int64 { return otp.Step(totpParams, time.Now()) }

// addOTPUser creates user with password pw and a fresh TOTP token
// (serial "totp-"+user) and returns the token's secret.
func addOTPUser(t *testing.T, st *store.Store, user, pw string) []byte {
	t.Helper()
	ctx := context.Background()
	pgAddUser(t, st, user, pw)
	secret := make([]byte, 20)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	tok := store.Token{Serial: "totp-" + user, Kind: store.KindTOTP, Algorithm: store.AlgSHA1, Digits: 6,
		Period: 30 * time.Second, LastStep: -1, Secret: secret, User: user, Source: store.SourceOATH}
	if err := st.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	return secret
}

func pgAddUser(t *testing.T, st *store.Store, user, pw string) {
	t.Helper()
	ctx := context.Background()
	if err := st.AddUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, user, pw); err != nil {
		t.Fatal(err)
	}
}

// noSecrets fails the test if any of secrets appears in the gateways' logs.
func noSecrets(t *testing.T, secrets []string, gws ...*gwProc) {
	t.Helper()
	for _, g := range gws {
		out := g.logs.String()
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("gateway %s's log holds the secret %q", g.name, s)
			}
		}
	}
}

// TestPostgresTwoGateways: two gateways share one PostgreSQL database:
// a TOTP code is good once across both, a change made through one host's
// CLI is seen by the other's next login.
func TestPostgresTwoGateways(t *testing.T) {
	pg := startPGShared(t, postgres.Options{NoFsync: true})
	fastHashes(t)
	st := pg.open(t)

	const races = 200
	pw := func(u string) string { return "pw-" + u + "-Xy7" }
	secrets := map[string][]byte{}
	var secretWords []string
	users := []string{"replay", "disable", "newpw", "oldpw"}
	for i := range races {
		users = append(users, fmt.Sprintf("race%03d", i))
	}
	for _, u := range users {
		secrets[u] = addOTPUser(t, st, u, pw(u))
		secretWords = append(secretWords, pw(u))
	}

	policy := "Password and OATH"
	dirA, cfgA := gatewayConfig(t, pg, pgStoreYAML, policy)
	dirB, cfgB := gatewayConfig(t, pg, pgStoreYAML, policy)
	a, b := spawnGateway(t, "A", dirA, cfgA), spawnGateway(t, "B", dirB, cfgB)
	a.waitReady(t)
	b.waitReady(t)

	// A code accepted by A is refused by B.
	step := nowStep()
	code := totpCode(secrets["replay"], step)
	if got := a.papLogin(t, "replay", pw("replay")+code); got != lr.CodeAccessAccept {
		t.Fatalf("A refused a fresh code: %v", got)
	}
	if got := b.papLogin(t, "replay", pw("replay")+code); got != lr.CodeAccessReject {
		t.Errorf("B answered %v to the code A had accepted, want Access-Reject", got)
	} else if !b.waitLog(`"RADIUS login rejected"`, `"user":"replay"`, "code already used") {
		t.Errorf("B's log does not say the code was already used")
	}

	// The same fresh code sent to A and B at the same instant: accepted
	// exactly once, for each of 200 users (their own tokens, since a TOTP
	// step lasts 30 s).
	var once, twice, never atomic.Int64
	sem := make(chan struct{}, 16)
	var rg sync.WaitGroup
	for i := range races {
		u := fmt.Sprintf("race%03d", i)
		rg.Add(1)
		sem <- struct{}{}
		go func() {
			defer rg.Done()
			defer func() { <-sem }()
			secret := pw(u) + totpCode(secrets[u], nowStep())
			start := make(chan struct{})
			var codes [2]lr.Code
			var w sync.WaitGroup
			for j, g := range []*gwProc{a, b} {
				w.Add(1)
				go func() {
					defer w.Done()
					<-start
					codes[j] = g.papLogin(t, u, secret)
				}()
			}
			close(start)
			w.Wait()
			accepts := 0
			for _, c := range codes {
				switch c {
				case lr.CodeAccessAccept:
					accepts++
				case lr.CodeAccessReject:
				default:
					t.Errorf("%s: answer %v", u, c)
				}
			}
			switch accepts {
			case 0:
				never.Add(1)
			case 1:
				once.Add(1)
			default:
				twice.Add(1)
				t.Errorf("%s: the same code was accepted by both gateways", u)
			}
		}()
	}
	rg.Wait()
	t.Logf("same code at A and B at once, %d times: accepted once %d, by both %d, by neither %d",
		races, once.Load(), twice.Load(), never.Load())
	if once.Load() != races {
		t.Errorf("accepted exactly once %d times of %d (both: %d, neither: %d)", once.Load(), races, twice.Load(), never.Load())
	}

	// A user disabled through A's CLI is refused at B's next login. B
	// logs the user in first, so that its back-ends hold the user in
	// their cache.
	step = nowStep()
	if got := b.papLogin(t, "disable", pw("disable")+totpCode(secrets["disable"], step)); got != lr.CodeAccessAccept {
		t.Fatalf("B refused the user before the change: %v", got)
	}
	if code, out, stderr := gh(t, "", "user", "disable", "disable", "-c", a.cfg); code != 0 {
		t.Fatalf("user disable through A: exit %d\n%s%s", code, out, stderr)
	}
	if got := b.papLogin(t, "disable", pw("disable")+totpCode(secrets["disable"], step+1)); got != lr.CodeAccessReject {
		t.Errorf("B answered %v for a user disabled through A, want Access-Reject", got)
	}
	if !b.waitLog(`"RADIUS login rejected"`, `"user":"disable"`, "disabled") {
		t.Errorf("B's log does not say the user is disabled")
	}

	// A password set through B's CLI works at A (and the old one no
	// longer does). A logs the users in first, to cache them.
	step = nowStep()
	for _, u := range []string{"newpw", "oldpw"} {
		if got := a.papLogin(t, u, pw(u)+totpCode(secrets[u], step)); got != lr.CodeAccessAccept {
			t.Fatalf("A refused %s before the change: %v", u, got)
		}
		if code, out, stderr := gh(t, "Changed-Pw-9q "+u+"\n", "user", "passwd", u, "--password-stdin", "-c", b.cfg); code != 0 {
			t.Fatalf("user passwd through B: exit %d\n%s%s", code, out, stderr)
		}
		secretWords = append(secretWords, "Changed-Pw-9q "+u)
	}
	if got := a.papLogin(t, "newpw", "Changed-Pw-9q newpw"+totpCode(secrets["newpw"], step+1)); got != lr.CodeAccessAccept {
		t.Errorf("A answered %v to the password set through B, want Access-Accept", got)
	}
	if got := a.papLogin(t, "oldpw", pw("oldpw")+totpCode(secrets["oldpw"], step+1)); got != lr.CodeAccessReject {
		t.Errorf("A answered %v to the password replaced through B, want Access-Reject", got)
	}

	// Nothing secret in either log: passwords, the database password, the
	// NAS secret.
	noSecrets(t, append(secretWords, postgres.RolePassword, pgNASSecret), a, b)
	for _, g := range []*gwProc{a, b} {
		if !g.running() {
			t.Errorf("gateway %s exited: %v", g.name, g.exitErr)
		}
	}
}

// loadChunk is one radload run in the background load: when it ran and
// what it got.
type loadChunk struct {
	start, end time.Time
	r          radload.Result
}

// TestPostgresOutage: PostgreSQL is killed under load and restarted. No
// login is accepted while the database cannot be reached, the gateway
// and its plugins keep running and say why logins fail, and logins are
// accepted again once the database is back, with no restart.
func TestPostgresOutage(t *testing.T) {
	pg := startPGShared(t, postgres.Options{NoFsync: true})
	fastHashes(t)
	st := pg.open(t)
	var logins []radload.Login
	var secretWords []string
	for i := range 8 {
		u, p := fmt.Sprintf("load%d", i), fmt.Sprintf("load-pw-%d-Zk", i)
		pgAddUser(t, st, u, p)
		logins = append(logins, radload.Login{User: u, Password: p})
		secretWords = append(secretWords, p)
	}
	otpSecret := addOTPUser(t, st, "otpuser", "otp-pw-Qm3")
	secretWords = append(secretWords, "otp-pw-Qm3")
	st.Close()

	// P serves policy Password under load; O serves Password and OATH on
	// the same database, for the one-time code sent during the outage.
	dirP, cfgP := gatewayConfig(t, pg, pgStoreYAML, "Password")
	dirO, cfgO := gatewayConfig(t, pg, pgStoreYAML, "Password and OATH")
	p, o := spawnGateway(t, "P", dirP, cfgP), spawnGateway(t, "O", dirO, cfgO)
	p.waitReady(t)
	o.waitReady(t)
	if got := p.papLogin(t, "load0", logins[0].Password); got != lr.CodeAccessAccept {
		t.Fatalf("before the outage: %v", got)
	}
	pluginsP, pluginsO := p.children(t), o.children(t)
	if len(pluginsP) == 0 || len(pluginsO) == 0 {
		t.Fatalf("no plugin processes found: P %v, O %v", pluginsP, pluginsO)
	}

	// The load: radload in small runs back to back, 4 in parallel, each
	// run timed, until stopped.
	ctx, stopLoad := context.WithCancel(context.Background())
	var mu sync.Mutex
	var chunks []loadChunk
	loadDone := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			c := loadChunk{start: time.Now()}
			r, err := radload.Run(ctx, radload.Config{Addr: p.addr, Secret: []byte(pgNASSecret), Logins: logins,
				Requests: 8, Parallel: 4, Timeout: 3 * time.Second})
			if err != nil {
				loadDone <- err
				return
			}
			c.end, c.r = time.Now(), r
			mu.Lock()
			chunks = append(chunks, c)
			mu.Unlock()
		}
		loadDone <- nil
	}()
	time.Sleep(2 * time.Second)

	killStart := time.Now()
	pg.srv.Kill(t)
	down := time.Now()
	// While the database is down: a password and a fresh one-time code.
	code := totpCode(otpSecret, nowStep())
	time.Sleep(500 * time.Millisecond)
	if got := o.papLogin(t, "otpuser", "otp-pw-Qm3"+code); got != lr.CodeAccessReject {
		t.Errorf("with PostgreSQL down, O answered %v to password and code, want Access-Reject", got)
	}
	time.Sleep(2500 * time.Millisecond)
	upStart := time.Now()
	pg.srv.Restart(t)
	up := time.Now()

	// Wait for the first accept after the restart.
	var firstAccept time.Time
	deadline := time.Now().Add(30 * time.Second)
	for firstAccept.IsZero() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		for _, c := range chunks {
			if c.start.After(up) && c.r.Accepts > 0 {
				firstAccept = c.end
				break
			}
		}
		mu.Unlock()
	}
	time.Sleep(time.Second)
	stopLoad()
	if err := <-loadDone; err != nil {
		t.Fatal(err)
	}
	if firstAccept.IsZero() {
		t.Fatalf("no login accepted within 30 s of PostgreSQL's restart")
	}
	t.Logf("PostgreSQL down for %v; first Access-Accept %v after Restart returned (%v after it began)",
		upStart.Sub(down).Round(time.Millisecond), firstAccept.Sub(up).Round(time.Millisecond), firstAccept.Sub(upStart).Round(time.Millisecond))

	// Every login is accepted again.
	if r, err := radload.Run(context.Background(), radload.Config{Addr: p.addr, Secret: []byte(pgNASSecret), Logins: logins,
		Requests: 400, Parallel: 4, Timeout: 3 * time.Second}); err != nil || r.Accepts != r.Requests {
		t.Errorf("after the recovery, not every login was accepted: %v %s", err, r)
	}

	// The code sent during the outage was not consumed: it is good now.
	// O's back-end may not have reconnected yet (its pool waits between
	// attempts): a refusal that says the database is unreachable consumed
	// nothing either, and the same code is sent again.
	for attempt := 1; ; attempt++ {
		n := len(o.logLines("RADIUS login rejected"))
		got := o.papLogin(t, "otpuser", "otp-pw-Qm3"+code)
		if got == lr.CodeAccessAccept {
			t.Logf("the code refused during the outage was accepted after the restart (attempt %d)", attempt)
			break
		}
		var why string
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if l := o.logLines("RADIUS login rejected"); len(l) > n {
				why, _ = l[len(l)-1]["reason"].(string)
				break
			}
		}
		if attempt == 20 || !strings.Contains(why, "unreachable") {
			t.Errorf("after the restart, O answered %v to the code refused during the outage (attempt %d: %s), want Access-Accept", got, attempt, why)
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	// No accept for a login sent and answered while the database was down.
	var before, during, after radload.Result
	for _, c := range chunks {
		var sum *radload.Result
		switch {
		case c.end.Before(killStart):
			sum = &before
		case c.start.After(down) && c.end.Before(upStart):
			sum = &during
		case c.start.After(up):
			sum = &after
		default:
			continue
		}
		sum.Requests += c.r.Requests
		sum.Accepts += c.r.Accepts
		sum.Rejects += c.r.Rejects
		sum.Lost += c.r.Lost
		if sum == &during && c.r.Accepts > 0 {
			t.Errorf("run %v..%v, with PostgreSQL down: %d Access-Accepts", c.start.Format("15:04:05.000"), c.end.Format("15:04:05.000"), c.r.Accepts)
		}
	}
	t.Logf("load before the kill: %d requests, %d accepted, %d rejected, %d lost", before.Requests, before.Accepts, before.Rejects, before.Lost)
	t.Logf("load while down:      %d requests, %d accepted, %d rejected, %d lost", during.Requests, during.Accepts, during.Rejects, during.Lost)
	t.Logf("load after restart:   %d requests, %d accepted, %d rejected, %d lost", after.Requests, after.Accepts, after.Rejects, after.Lost)
	if before.Accepts == 0 || before.Accepts != before.Requests {
		t.Errorf("before the kill not every login was accepted: %+v", before)
	}
	if during.Requests == 0 {
		t.Errorf("no load ran while PostgreSQL was down")
	}
	if during.Rejects == 0 {
		t.Errorf("no Access-Reject while PostgreSQL was down: %+v", during)
	}

	// Nothing crashed: the gateways run, with the same plugin processes,
	// and logged no plugin exit or restart.
	for _, c := range []struct {
		g       *gwProc
		plugins []int
	}{{p, pluginsP}, {o, pluginsO}} {
		if !c.g.running() {
			t.Errorf("gateway %s exited: %v", c.g.name, c.g.exitErr)
			continue
		}
		if now := c.g.children(t); !slices.Equal(now, c.plugins) {
			t.Errorf("gateway %s's plugin processes were %v, now %v", c.g.name, c.plugins, now)
		}
		for _, msg := range []string{"plugin exited", "plugin restarted"} {
			if l := c.g.logLines(msg); len(l) > 0 {
				t.Errorf("gateway %s logged %q: %v", c.g.name, msg, l)
			}
		}
	}

	// The log and the login events say why. Every refusal here was the
	// outage's (the load's passwords are right, and O was asked once,
	// during the outage), so every one must say the database is
	// unreachable.
	mentionsDB := func(s string) bool {
		s = strings.ToLower(s)
		return strings.Contains(s, "database") && strings.Contains(s, "unreachable")
	}
	for _, g := range []*gwProc{p, o} {
		var reasons, bad []string
		lines := g.logLines("RADIUS login rejected")
		for _, l := range lines {
			r, _ := l["reason"].(string)
			reasons = append(reasons, r)
			if !mentionsDB(r) {
				bad = append(bad, r)
			}
		}
		if len(lines) == 0 || len(bad) > 0 {
			t.Errorf("gateway %s: %d rejected logins logged, %d without saying the database is unreachable: %q",
				g.name, len(lines), len(bad), compactStrings(bad))
		}
		t.Logf("gateway %s: reasons logged: %q", g.name, compactStrings(reasons))
		evs := g.loginEvents(t, "refused")
		bad = nil
		for _, ev := range evs {
			if r, _ := ev["reason"].(string); !mentionsDB(r) {
				b, _ := json.Marshal(ev)
				bad = append(bad, string(b))
			}
		}
		if len(evs) == 0 || len(bad) > 0 {
			t.Errorf("gateway %s: %d refused login events, %d whose reason does not say the database is unreachable: %q",
				g.name, len(evs), len(bad), compactStrings(bad))
		}
	}
	noSecrets(t, append(secretWords, postgres.RolePassword, pgNASSecret), p, o)
}

// compactStrings is ss without repeats, in first-seen order.
func compactStrings(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// TestRADIUSStoreDrivers measures the RADIUS front door (PAP, policy
// "Password": the local store through the built-in local plugin process)
// with the SQLite store and with the PostgreSQL store (loopback, TLS,
// fsync on), in alternate rounds in one run. It runs only when
// GATEHOUSE_RADIUS_BENCH is set:
//
//	GATEHOUSE_RADIUS_BENCH=1 go test -count=1 -run TestRADIUSStoreDrivers -v ./cmd/gatehouse/
//
// RADLOAD_REQUESTS (default 20000), RADLOAD_PARALLEL (default 32) and
// RADLOAD_ROUNDS (default 3) size it.
func TestRADIUSStoreDrivers(t *testing.T) {
	if os.Getenv("GATEHOUSE_RADIUS_BENCH") == "" {
		t.Skip("benchmark: set GATEHOUSE_RADIUS_BENCH=1 to run")
	}
	requests, parallel, rounds := envInt("RADLOAD_REQUESTS", 20000), envInt("RADLOAD_PARALLEL", 32), envInt("RADLOAD_ROUNDS", 3)
	pg := startPGShared(t, postgres.Options{})
	st := pg.open(t)
	var logins []radload.Login
	for i := range 4 {
		logins = append(logins, radload.Login{User: fmt.Sprintf("load%d", i), Password: fmt.Sprintf("load-pw-%d", i)})
	}
	for _, l := range logins {
		pgAddUser(t, st, l.User, l.Password)
	}
	st.Close()
	dirS, cfgS := gatewayConfig(t, nil, "", "Password")
	for _, l := range logins {
		if code, out, stderr := gh(t, l.Password+"\n", "user", "add", l.User, "--password-stdin", "-c", cfgS); code != 0 {
			t.Fatalf("user add: exit %d\n%s%s", code, out, stderr)
		}
	}
	dirP, cfgP := gatewayConfig(t, pg, pgStoreYAML, "Password")
	gws := []*gwProc{startGateway(t, "sqlite", dirS, cfgS), startGateway(t, "postgres", dirP, cfgP)}
	for _, g := range gws {
		// Warm up.
		if r, err := radload.Run(context.Background(), radload.Config{Addr: g.addr, Secret: []byte(pgNASSecret), Logins: logins,
			Requests: 500, Parallel: parallel}); err != nil || r.Accepts != r.Requests {
			t.Fatalf("%s warm-up: %v %s", g.name, err, r)
		}
	}
	rps := map[string][]float64{}
	for round := range rounds {
		for _, g := range gws {
			r, err := radload.Run(context.Background(), radload.Config{Addr: g.addr, Secret: []byte(pgNASSecret), Logins: logins,
				Requests: requests, Parallel: parallel, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("round %d, %-8s: %s", round+1, g.name, r)
			if r.Accepts != r.Requests {
				t.Errorf("%s: not every login was accepted: %s", g.name, r)
			}
			rps[g.name] = append(rps[g.name], r.RPS())
		}
	}
	med := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	sq, pq := med(rps["sqlite"]), med(rps["postgres"])
	t.Logf("PAP, policy Password, %d requests x %d rounds, %d in parallel: median req/s sqlite %.0f, postgres %.0f, postgres/sqlite %.2f",
		requests, rounds, parallel, sq, pq, pq/sq)

	// What a login costs the database: its transactions (each statement
	// outside one is one) per login, from the server's statistics.
	db, err := sql.Open("pgx", pg.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	xacts := func() int64 {
		time.Sleep(1500 * time.Millisecond) // the server flushes its statistics about every second
		var n int64
		if err := db.QueryRow(`SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	x0 := xacts()
	const n = 2000
	if r, err := radload.Run(context.Background(), radload.Config{Addr: gws[1].addr, Secret: []byte(pgNASSecret), Logins: logins,
		Requests: n, Parallel: parallel}); err != nil || r.Accepts != n {
		t.Fatalf("%v %s", err, r)
	}
	t.Logf("postgres: %.2f database transactions per PAP login", float64(xacts()-x0-1)/n)
}
