package interop

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/testlog"
	"github.com/gatehouse-vpn/gatehouse/server/pptp/pptptest"
	"github.com/gatehouse-vpn/gatehouse/test/peers/slapd"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// This file proves the gateway itself (cmd/gatehouse serve) with the Linux
// client: the seven cases of the PPTP issue. The server runs as its own
// process, the way an operator runs it, in the topology's gateway
// namespace, with the built-in local store as its back-end (users added
// with "gatehouse user add", as an operator would).

// Passwords of the test users; no log may contain them.
const (
	alicePassword = `correct "horse" battery\staple`
	bobPassword   = "Tr0ub4dor & 3"
	wrongPassword = "not-the-password-0xC0FFEE"
)

var gatehouseBin struct {
	once sync.Once
	dir  string // world-readable: plugins re-execute the binary as nobody
	path string
	err  error
}

// buildGatehouse builds the gatehouse binary once per test process.
func buildGatehouse(t *testing.T) string {
	t.Helper()
	b := &gatehouseBin
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "gatehouse-interop-bin-")
		if b.err != nil {
			return
		}
		if b.err = os.Chmod(b.dir, 0o755); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "gatehouse")
		cmd := exec.Command("go", "build", "-o", b.path, "./cmd/gatehouse")
		cmd.Dir = filepath.Join(sourceDir(), "..", "..")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/gatehouse: %v\n%s", err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// gatehouse is one "gatehouse serve" in a topology's gateway namespace.
type gatehouse struct {
	tp     *Topology
	bin    string
	dir    string
	config string
	admin  string // host:port of the admin listener, inside GatewayNS
	cmd    *exec.Cmd
	log    *logBuffer
	exited chan struct{}
}

// logBuffer collects the server's JSON log lines.
type logBuffer = testlog.Buffer

// gatehouseOptions vary the server's configuration.
type gatehouseOptions struct {
	// PPTP is appended to the pptp section (two-space indented lines).
	PPTP string
	// Backends are more back-ends (two-space indented), besides Password,
	// the local store.
	Backends string
	// Policy is the pptp service's policy; default "Password".
	Policy string
	// Extra is appended at the top level (firewall, radius_accounting).
	Extra string
	// PoolFirst and PoolLast: default 192.0.2.10 to 192.0.2.99.
	PoolFirst, PoolLast string
	// Command, when set, makes the "gatehouse serve" command in place of
	// tp.Exec: it is started on a thread inside GatewayNS, so it runs
	// there, in whatever else Command puts it (winbind.Member.Command:
	// the domain member's mount namespace).
	Command func(name string, args ...string) *exec.Cmd
}

// startGatehouse writes a configuration, adds the users alice and bob to
// the local store, and starts the server listening on tp.ServerIP.
func startGatehouse(t *testing.T, tp *Topology, o gatehouseOptions) *gatehouse {
	t.Helper()
	bin := buildGatehouse(t)
	dir, err := os.MkdirTemp("", "gatehouse-interop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &gatehouse{tp: tp, bin: bin, dir: dir, config: filepath.Join(dir, "gatehouse.yaml"),
		admin: tp.ServerIP.String() + ":9723", log: &logBuffer{}, exited: make(chan struct{})}
	cfg := fmt.Sprintf(`state_dir: ./state
log: {level: debug}
admin: {listen: %q}
backends:
  Password: {type: local}
%s
services:
  pptp: {policy: %q}
pptp:
  listen: %s:1723
  interface: gh-pptp0
  pool: {first: %s, last: %s}
  local_address: 192.0.2.1
  dns: [192.0.2.53, 192.0.2.54]
  wins: [192.0.2.55]
  echo_interval: 2s
  echo_timeout: 6s
  access: {default: on}
%s
%s`, g.admin, o.Backends, cmp.Or(o.Policy, "Password"), tp.ServerIP,
		cmp.Or(o.PoolFirst, "192.0.2.10"), cmp.Or(o.PoolLast, "192.0.2.99"), o.PPTP, o.Extra)
	if err := os.WriteFile(g.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	for user, pw := range map[string]string{"alice": alicePassword, "bob": bobPassword} {
		cmd := exec.Command(bin, "user", "add", user, "--password-stdin", "--config", g.config)
		cmd.Stdin = strings.NewReader(pw + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gatehouse user add %s: %v\n%s", user, err, out)
		}
	}
	if o.Command == nil {
		g.cmd = tp.Exec(tp.GatewayNS, bin, "serve", "--config", g.config)
	} else {
		g.cmd = o.Command(bin, "serve", "--config", g.config)
	}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	start := g.cmd.Start
	if o.Command != nil {
		start = func() error { return tp.Enter(tp.GatewayNS, g.cmd.Start) }
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() { g.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for len(g.log.Entries("pptp front door started")) == 0 {
		select {
		case <-g.exited:
			t.Fatalf("gatehouse serve exited:\n%s", g.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatehouse serve did not start:\n%s", g.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return g
}

// stop ends the server with SIGTERM, as an init system would.
func (g *gatehouse) stop(t *testing.T) {
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(30 * time.Second):
		t.Errorf("gatehouse serve did not stop on SIGTERM")
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	if t.Failed() {
		t.Logf("--- gatehouse log\n%s", g.log)
	}
}

// get fetches path from the admin listener (which lives in GatewayNS: the
// socket is opened there) and decodes its JSON into v.
func (g *gatehouse) get(t *testing.T, path string, v any) {
	t.Helper()
	body := g.fetch(t, path)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("admin %s: %v: %s", path, err, body)
	}
}

// fetch returns the body of path from the admin listener.
func (g *gatehouse) fetch(t *testing.T, path string) []byte {
	t.Helper()
	var conn net.Conn
	if err := g.tp.Enter(g.tp.GatewayNS, func() (err error) {
		conn, err = net.DialTimeout("tcp", g.admin, 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
	defer conn.Close()
	token, err := os.ReadFile(filepath.Join(g.dir, "state", "admin.token"))
	if err != nil {
		t.Fatalf("admin token: %v", err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: gatehouse\r\nAuthorization: Bearer %s\r\n\r\n", path, bytes.TrimSpace(token))
	raw, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("admin %s: %v", path, err)
	}
	_, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(raw, []byte("HTTP/1.0 200")) && !bytes.HasPrefix(raw, []byte("HTTP/1.1 200")) {
		t.Fatalf("admin %s: %q", path, raw)
	}
	return body
}

type adminSession struct {
	ID          string `json:"id"`
	User        string `json:"user"`
	Address     string `json:"address"`
	Established bool   `json:"established"`
	MPPEBits    int    `json:"mppe_bits"`
	MPPEMode    string `json:"mppe_mode"`
}

type adminPPTP struct {
	PoolInUse int `json:"pool_in_use"`
	Sessions  int `json:"sessions"`
	Stats     struct {
		GREReceived    uint64 `json:"gre_received"`
		GREMalformed   uint64 `json:"gre_malformed"`
		GREUnknownCall uint64 `json:"gre_unknown_call"`
		GREWrongSource uint64 `json:"gre_wrong_source"`
		GREOld         uint64 `json:"gre_old"`
		TUNReceived    uint64 `json:"tun_received"`
		TUNMalformed   uint64 `json:"tun_malformed"`
		TUNNotIPv4     uint64 `json:"tun_not_ipv4"`
		TUNNoSession   uint64 `json:"tun_no_session"`
		SpoofedSource  uint64 `json:"spoofed_source"`
		FirewallDenied uint64 `json:"firewall_denied"`
	} `json:"counters"`
}

// waitIdle waits until the server holds no session and no address.
func (g *gatehouse) waitIdle(t *testing.T, within time.Duration) adminPPTP {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var st adminPPTP
		g.get(t, "/v1/pptp", &st)
		if st.Sessions == 0 && st.PoolInUse == 0 {
			t.Logf("gateway counters: %+v", st.Stats)
			return st
		}
		if time.Now().After(deadline) {
			t.Errorf("after %s the server still holds %d sessions and %d addresses", within, st.Sessions, st.PoolInUse)
			return st
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// capture runs dumpcap on the bridge in GatewayNS until stopped, and
// returns the capture file's bytes.
func startCapture(t *testing.T, tp *Topology) (stop func() []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "session.pcap")
	if _, err := exec.LookPath("dumpcap"); err != nil {
		pptptest.TsharkPath(t) // skips loudly, or fails as root, without tshark
		t.Fatal("dumpcap (from tshark's wireshark-common) is missing")
	}
	cmd := tp.Exec(tp.GatewayNS, "dumpcap", "-q", "-P", "-i", tp.Bridge, "-f", "tcp port 1723 or ip proto 47", "-w", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// dumpcap creates the file once it captures.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if st, err := os.Stat(file); err == nil && st.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("dumpcap did not start: %s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() []byte {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestGatehouse runs cases 1, 2, 3, 5, 6 and 7 of the PPTP issue against
// one server with the default PPP settings (MS-CHAPv2 only, MPPE-128
// stateless required), booting the client VMs in two batches:
//
//  1. alice connects (MS-CHAPv2 via the local store, MPPE-128 stateless,
//     an address from the pool, DNS), pings the LAN host through the
//     tunnel, and the LAN host pings her back;
//  2. a wrong password fails with pppd's "authentication failed", the log
//     says why, nothing stays allocated;
//  3. a client that insists on PAP, and one that insists on 40-bit MPPE,
//     are refused with a clear log line;
//  5. alice and bob at once get different addresses and both ping;
//  6. a client VM is killed: the server notices within the echo timeout,
//     frees the address and logs the cause;
//  7. the capture of all this, dissected by tshark, has no malformed
//     PPTP, GRE, PPP, LCP, CHAP, IPCP or CCP packet.
//
// And no log line holds a password.
func TestGatehouse(t *testing.T) {
	tp := Up(t, "gatehouse")
	g := startGatehouse(t, tp, gatehouseOptions{})
	stopCapture := startCapture(t, tp)

	// Batch 1: alice holds her link while the LAN host pings her; bob
	// pings at the same time; a third client stays up to be killed.
	alice := tp.StartClient(t, ClientOptions{Name: "alice", User: "alice", Password: alicePassword,
		Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5, Hold: 3 * time.Minute})
	victim := tp.StartClient(t, ClientOptions{Name: "killed", User: "bob", Password: bobPassword, Hold: 5 * time.Minute})
	bob := tp.StartClient(t, ClientOptions{Name: "bob", User: "bob", Password: bobPassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5, Hold: 20 * time.Second})
	for _, c := range []*Client{alice, victim, bob} {
		if !c.WaitUp(3 * time.Minute) {
			r := c.Wait()
			t.Fatalf("%s did not come up: %s\n%s", c.Name, r, r.Log)
		}
	}
	var sessions []adminSession
	g.get(t, "/v1/sessions", &sessions)
	addrs := map[string]string{}
	for _, s := range sessions {
		if !s.Established || s.MPPEBits != 128 || s.MPPEMode != "stateless" {
			t.Errorf("session %+v: want established with 128-bit stateless MPPE", s)
		}
		if addrs[s.Address] != "" {
			t.Errorf("address %s given to two sessions", s.Address)
		}
		addrs[s.Address] = s.User
	}
	if len(sessions) != 3 {
		t.Fatalf("the server lists %d sessions, want 3: %+v", len(sessions), sessions)
	}

	t.Run("metrics", func(t *testing.T) {
		m := string(g.fetch(t, "/metrics"))
		for _, re := range []string{
			`(?m)^gatehouse_pptp_sessions 3$`,
			`(?m)^gatehouse_pptp_pool_addresses_in_use 3$`,
			`(?m)^gatehouse_pptp_gre_received_packets_total [1-9]\d*$`,
			`(?m)^gatehouse_logins_total\{branch="Password",front_door="pptp",result="accepted",service="pptp"\} 3$`,
			`(?m)^gatehouse_plugin_call_duration_seconds_count\{backend="Password",call="VerifyMSCHAPv2"\} [3-9]\d*$`,
			`(?m)^gatehouse_plugin_up\{backend="Password",state="running"\} 1$`,
		} {
			if !regexp.MustCompile(re).MatchString(m) {
				t.Errorf("/metrics does not match %s", re)
			}
		}
		check := exec.Command("promtool", "check", "metrics")
		check.Stdin = strings.NewReader(m)
		if out, err := check.CombinedOutput(); err != nil {
			t.Errorf("promtool check metrics: %v\n%s", err, out)
		}
	})

	t.Run("6 killed client", func(t *testing.T) {
		var victimAddr string
		killedAt := time.Now()
		victim.Kill()
		r := victim.Wait()
		if !r.Killed {
			t.Fatalf("victim not killed: %s", r)
		}
		// echo_interval 2s + echo_timeout 6s, plus the 1 s tick.
		deadline := killedAt.Add(20 * time.Second)
		for {
			var ss []adminSession
			g.get(t, "/v1/sessions", &ss)
			if len(ss) <= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("20 s after the kill the server still lists %d sessions", len(ss))
			}
			time.Sleep(250 * time.Millisecond)
		}
		noticed := time.Since(killedAt)
		t.Logf("the server noticed the dead client after %s (echo interval 2s, timeout 6s)", noticed.Round(100*time.Millisecond))
		var closed map[string]any
		for _, e := range g.log.Entries("pptp connection closed") {
			if c, _ := e["cause"].(string); strings.Contains(c, "no answer to echo within 6s") {
				closed = e
				victimAddr, _ = e["address"].(string)
			}
		}
		if closed == nil {
			t.Fatalf("no \"pptp connection closed\" entry with the echo-timeout cause:\n%s", g.log)
		}
		if victimAddr == "" || addrs[victimAddr] != "bob" {
			t.Errorf("closed entry %v: address %q is not one of bob's", closed, victimAddr)
		}
		var st adminPPTP
		g.get(t, "/v1/pptp", &st)
		if st.PoolInUse != 2 {
			t.Errorf("pool in use %d after the kill, want 2 (alice and bob)", st.PoolInUse)
		}
	})

	t.Run("1 connect, ping both ways", func(t *testing.T) {
		var aliceAddr string
		for a, u := range addrs {
			if u == "alice" {
				aliceAddr = a
			}
		}
		if aliceAddr == "" {
			t.Fatalf("no session for alice: %v", addrs)
		}
		out, err := tp.Exec(tp.LanNS, "ping", "-c", "3", "-i", "0.2", "-W", "5", aliceAddr).CombinedOutput()
		if err != nil || strings.Contains(string(out), " 0 received") {
			t.Errorf("LAN host pinging alice at %s: %v\n%s", aliceAddr, err, out)
		}
		// Her part is done: the operator ends her session with the CLI,
		// as the server would end any session (LCP Terminate-Request,
		// Call-Disconnect-Notify, Stop-Control-Connection-Request).
		var id string
		var mine []adminSession
		g.get(t, "/v1/sessions?user=alice", &mine)
		if len(mine) != 1 || mine[0].ID == "" {
			t.Fatalf("/v1/sessions?user=alice: %+v", mine)
		}
		id = mine[0].ID
		out, err = tp.Exec(tp.GatewayNS, g.bin, "sessions", "list", "--user", "alice", "--admin", g.admin, "--config", g.config).CombinedOutput()
		if err != nil || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(id)+`\s+alice\s+\S+\s+`+regexp.QuoteMeta(aliceAddr)+`\s+pptp\s+Password\s+128-bit stateless\s`).Match(out) {
			t.Errorf("gatehouse sessions list --user alice: %v\n%s", err, out)
		}
		out, err = tp.Exec(tp.GatewayNS, g.bin, "sessions", "show", id, "--json", "--admin", g.admin, "--config", g.config).CombinedOutput()
		var shown adminSession
		if err != nil || json.Unmarshal(out, &shown) != nil || shown.ID != id || shown.Address != aliceAddr {
			t.Errorf("gatehouse sessions show %s --json: %v\n%s", id, err, out)
		}
		out, err = tp.Exec(tp.GatewayNS, g.bin, "sessions", "kill", "no-such-session", "--admin", g.admin, "--config", g.config).CombinedOutput()
		if err == nil || !strings.Contains(string(out), `no session "no-such-session"`) {
			t.Errorf("gatehouse sessions kill of an unknown id: %v\n%s", err, out)
		}
		out, err = tp.Exec(tp.GatewayNS, g.bin, "sessions", "kill", id, "--reason", "case 1 done", "--admin", g.admin, "--config", g.config).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "session "+id+": ending it") {
			t.Fatalf("gatehouse sessions kill: %v\n%s", err, out)
		}
		r := alice.Wait()
		if r.Killed || r.Disconnect != "peer" || r.PeerTermReason != "killed by the operator: case 1 done" {
			t.Errorf("alice after the operator's kill: %s (disconnect %q, the server's LCP Terminate-Request said %q)\n%s",
				r, r.Disconnect, r.PeerTermReason, r.Log)
		}
		if !strings.Contains(r.Log, "LCP terminated by peer") {
			t.Errorf("alice's pppd did not log the server's LCP Terminate-Request:\n%s", r.Log)
		}
		var closed map[string]any
		for _, e := range g.log.Entries("pptp connection closed") {
			if e["session"] == id {
				closed = e
			}
		}
		if closed == nil || closed["cause"] != "killed by the operator: case 1 done" || closed["user"] != "alice" {
			t.Errorf("closed entry %v for session %s\n%s", closed, id, g.log)
		}
		if len(g.log.Entries("pptp session killed")) != 1 {
			t.Errorf("no \"pptp session killed\" entry:\n%s", g.log)
		}
		if r.Auth != "ok" || r.AuthProto != "mschapv2" || r.MPPEBits != 128 || !r.Stateless {
			t.Errorf("alice: %s, want MS-CHAPv2 and 128-bit stateless MPPE\n%s", r, r.Log)
		}
		if !netip.MustParsePrefix("192.0.2.0/24").Contains(r.LocalIP) || r.LocalIP.String() != aliceAddr || r.RemoteIP.String() != "192.0.2.1" {
			t.Errorf("alice: addresses %v <-> %v, want %s <-> 192.0.2.1", r.LocalIP, r.RemoteIP, aliceAddr)
		}
		if r.DNS1.String() != "192.0.2.53" || r.DNS2.String() != "192.0.2.54" {
			t.Errorf("alice: DNS %v %v, want 192.0.2.53 192.0.2.54", r.DNS1, r.DNS2)
		}
		if r.PingTx != 5 || r.PingRx == 0 {
			t.Errorf("alice: %d of %d pings to the LAN host answered, want 5 sent and replies\n%s", r.PingRx, r.PingTx, r.Log)
		}
	})

	t.Run("5 two clients at once", func(t *testing.T) {
		r := bob.Wait()
		if !r.Connected || r.PingTx == 0 || r.PingRx == 0 || r.MPPEBits != 128 {
			t.Errorf("bob: %s\n%s", r, r.Log)
		}
		if addrs[r.LocalIP.String()] != "bob" || len(addrs) != 3 {
			t.Errorf("bob's address %v; the server's sessions %v", r.LocalIP, addrs)
		}
	})
	g.waitIdle(t, 30*time.Second)

	// Batch 2: the refusals.
	rs := tp.RunClients(t,
		ClientOptions{Name: "wrong-password", User: "alice", Password: wrongPassword, ExpectFail: true},
		ClientOptions{Name: "pap", User: "alice", Password: alicePassword, Auth: "pap", ExpectFail: true},
		ClientOptions{Name: "mppe-40", User: "alice", Password: alicePassword, MPPE: "40", ExpectFail: true},
		ClientOptions{Name: "mschapv1", User: "alice", Password: alicePassword, Auth: "mschap", ExpectFail: true},
		ClientOptions{Name: "chap-md5", User: "alice", Password: alicePassword, Auth: "chap", ExpectFail: true},
	)
	st := g.waitIdle(t, 30*time.Second)

	t.Run("2 wrong password", func(t *testing.T) {
		r := rs[0]
		if r.Connected || r.Auth != "fail" || r.Reason != "auth_failed" {
			t.Errorf("wrong password: %s, want auth_failed\n%s", r, r.Log)
		}
		if !strings.Contains(r.Log, "E=691") {
			t.Errorf("the client did not get E=691:\n%s", r.Log)
		}
		found := false
		for _, e := range g.log.Entries("login refused") {
			if c, _ := e["cause"].(string); strings.Contains(c, "authentication rejected") && strings.Contains(c, "wrong password") {
				found = true
			}
		}
		if !found {
			t.Errorf("no \"login refused\" entry saying \"wrong password\":\n%s", g.log)
		}
	})

	t.Run("3 PAP, CHAP-MD5, MS-CHAPv1 and 40-bit refused", func(t *testing.T) {
		for _, i := range []int{1, 3, 4} {
			if r := rs[i]; r.Connected || r.Auth == "ok" {
				t.Errorf("%s client: %s\n%s", r.Name, r, r.Log)
			}
		}
		if r := rs[2]; r.Connected || r.MPPEBits != 0 {
			t.Errorf("40-bit client: %s\n%s", r, r.Log)
		}
		want := map[string]bool{
			"PAP": false,
			"peer insists on MS-CHAPv1, which is refused (enable pptp.auth.mschapv1 to allow it)": false,
			"peer insists on CHAP-MD5, which is refused (enable pptp.auth.chap_md5 to allow it)":  false,
			"40-bit MPPE, which is refused": false,
		}
		for _, e := range g.log.Entries("pptp connection closed") {
			c, _ := e["cause"].(string)
			for w := range want {
				want[w] = want[w] || strings.Contains(c, w)
			}
		}
		for w, found := range want {
			if !found {
				t.Errorf("no closed entry says %q:\n%s", w, g.log)
			}
		}
		if st.Stats.GREMalformed != 0 {
			t.Errorf("%d malformed GRE packets from the Linux client", st.Stats.GREMalformed)
		}
		// The kernel's own IPv6 packets on a new TUN would show here
		// and read as errors; the gateway turns IPv6 off on the device.
		if st.Stats.TUNMalformed != 0 || st.Stats.TUNNotIPv4 != 0 {
			t.Errorf("TUN counters after the run: %d malformed, %d not IPv4; want 0 and 0", st.Stats.TUNMalformed, st.Stats.TUNNotIPv4)
		}
	})

	capture := stopCapture()
	if keep := os.Getenv("GATEHOUSE_INTEROP_CAPTURE"); keep != "" {
		// For cmd/pcapcorpus: the fuzz targets' seeds from real sessions.
		if err := os.WriteFile(keep, capture, 0o644); err != nil {
			t.Error(err)
		}
	}
	t.Run("7 tshark", func(t *testing.T) {
		checkCapture(t, capture)
	})

	g.stop(t)
	t.Run("no secret in the log", func(t *testing.T) {
		l := g.log.String()
		if !strings.Contains(l, `"msg":"login accepted"`) {
			t.Fatalf("the log lacks the logins:\n%s", l)
		}
		for _, secret := range []string{alicePassword, bobPassword, wrongPassword, "correct", "Tr0ub4dor", "C0FFEE"} {
			if strings.Contains(l, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}

// checkCapture dissects a capture with tshark and fails on any problem in
// a PPTP, GRE or PPP packet; it also checks that each protocol is there.
func checkCapture(t *testing.T, capture []byte) {
	t.Helper()
	packets := pptptest.TsharkLive(t, capture)
	seen := map[string]int{}
	for i, p := range packets {
		protos := p.Protocols()
		for _, want := range []string{"pptp", "gre", "ppp", "lcp", "chap", "ipcp", "ccp"} {
			if strings.Contains(":"+protos+":", ":"+want+":") {
				seen[want]++
			}
		}
		if !strings.Contains(protos, "pptp") && !strings.Contains(protos, "gre") {
			continue
		}
		for _, pr := range p.Problems() {
			t.Errorf("packet %d (%s): %s", i+1, protos, pr)
		}
	}
	for _, want := range []string{"pptp", "gre", "ppp", "lcp", "chap", "ipcp", "ccp"} {
		if seen[want] == 0 {
			t.Errorf("the capture has no %s packet (%d packets)", want, len(packets))
		}
	}
	t.Logf("tshark dissected %d packets: %v", len(packets), seen)
}

// TestGatehouseStateful is case 4: with pptp.mppe.stateful the server
// Naks the client's stateless request towards stateful, and pppd's
// mppe-stateful takes it: pppd then reports stateful MPPE, and 10 pings
// at 100 ms go through. (A pppd without mppe-stateful hangs up on that
// Nak, which is why the option is off by default; see ccp.StatefulPreferred.)
func TestGatehouseStateful(t *testing.T) {
	tp := Up(t, "stateful")
	g := startGatehouse(t, tp, gatehouseOptions{PPTP: "  mppe: {stateful: true}\n"})
	r := tp.RunClient(t, ClientOptions{Name: "stateful", User: "alice", Password: alicePassword, MPPE: "stateful",
		Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 10, PingInterval: 100 * time.Millisecond})
	if r.MPPEBits != 128 || r.Stateless || r.PingRx == 0 || r.PingTx != 10 {
		t.Errorf("stateful client: %s, want 128-bit stateful MPPE and its pings answered\n%s", r, r.Log)
	}
	g.waitIdle(t, 30*time.Second)
	es := g.log.Entries("pptp session established")
	if len(es) != 1 || es[0]["mppe_mode"] != "stateful" {
		t.Errorf("established sessions %v, want one in stateful mode:\n%s", es, g.log)
	}
}

// TestGatehouseLDAP is the PPTP case of the LDAP issue: with policy
// "DirectoryService or Password", carol, who lives only in OpenLDAP, logs
// in with MS-CHAPv2 checked against her sambaNTPassword (her MPPE keys
// come from it), and alice, who lives only in the local store, logs in
// through the second branch. slapd runs in the gateway's namespace (a
// directory the gateway reaches on its LAN side would do as well).
func TestGatehouseLDAP(t *testing.T) {
	tp := Up(t, "ldap")
	const carolPassword = "c4rol's directory secret"
	var srv *slapd.Server
	// Processes and sockets made on a thread inside the namespace stay
	// there: slapd listens on the gateway's address.
	if err := tp.Enter(tp.GatewayNS, func() error {
		srv = slapd.Start(t, slapd.Options{Host: tp.ServerIP.String()})
		srv.AddUser(t, slapd.User{Name: "carol", Password: carolPassword, Groups: []string{"vpn-users"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	g := startGatehouse(t, tp, gatehouseOptions{
		Backends: srv.BackendYAML("DirectoryService", nil),
		Policy:   "DirectoryService or Password",
	})
	rs := tp.RunClients(t,
		ClientOptions{Name: "carol", User: "carol", Password: carolPassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "alice", User: "alice", Password: alicePassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "carol-wrong", User: "carol", Password: wrongPassword, ExpectFail: true},
	)
	for _, r := range rs[:2] {
		if r.MPPEBits != 128 || !r.Stateless || r.PingTx == 0 || r.PingRx == 0 {
			t.Errorf("%s: %s, want 128-bit MPPE and every ping answered\n%s", r.Name, r, r.Log)
		}
	}
	if r := rs[2]; r.Auth != "fail" {
		t.Errorf("carol with a wrong password: %s\n%s", r, r.Log)
	}
	g.waitIdle(t, 30*time.Second)
	branches := map[string]string{}
	for _, e := range g.log.Entries("login accepted") {
		u, _ := e["user"].(string)
		b, _ := e["branch"].(string)
		branches[u] = b
	}
	if branches["carol"] != "DirectoryService" || branches["alice"] != "Password" {
		t.Errorf("deciding branches %v, want carol by DirectoryService and alice by Password", branches)
	}
	l := g.log.String()
	for _, secret := range []string{carolPassword, srv.BindPassword, alicePassword} {
		if strings.Contains(l, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestGatehouseRADIUS is the PPTP case of the RADIUS issue: dave lives only
// in a FreeRADIUS users file; policy RADIUS forwards his MS-CHAPv2 response
// and takes the MPPE keys from the Access-Accept (MS-MPPE-Send-Key and
// Recv-Key), so the pings prove those keys. The reply's Framed-IP-Address
// becomes his address, its Filter-Id his firewall policy, and accounting
// Start and Stop (with the Class echoed) reach FreeRADIUS's detail file.
func TestGatehouseRADIUS(t *testing.T) {
	tp := Up(t, "radius")
	const davePassword = "d4ve's RADIUS secret"
	var srv *radiuspeer.Server
	// FreeRADIUS listens on 127.0.0.1 of the gateway's namespace.
	if err := tp.Enter(tp.GatewayNS, func() error {
		srv = radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{{
			Name: "dave", Password: davePassword,
			Reply: []string{`Filter-Id := "radius-users"`, `Framed-IP-Address := 192.0.2.77`, `Class := "gh-class-1"`},
		}, {
			Name: "erin", Password: davePassword, Reply: []string{`Filter-Id := "radius-users"`},
		}}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	g := startGatehouse(t, tp, gatehouseOptions{
		Backends: fmt.Sprintf("  RADIUS:\n    type: radius\n    options: {servers: %q, secret_file: %q}\n", srv.AuthAddr, srv.SecretFile),
		Policy:   "RADIUS",
		Extra: fmt.Sprintf(`firewall:
  policies:
    radius-users: [{action: allow}]
radius_accounting:
  servers: [%q]
  secret_file: %q
  nas_identifier: gatehouse-interop
`, srv.AcctAddr, srv.SecretFile),
	})
	// erin stays up until the operator kills her session: its Stop must
	// say Admin-Reset.
	erin := tp.StartClient(t, ClientOptions{Name: "erin", User: "erin", Password: davePassword, Hold: 3 * time.Minute})
	rs := tp.RunClients(t,
		ClientOptions{Name: "dave", User: "dave", Password: davePassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "dave-wrong", User: "dave", Password: wrongPassword, ExpectFail: true},
	)
	if !erin.WaitUp(time.Minute) {
		r := erin.Wait()
		t.Fatalf("erin did not come up: %s\n%s", r, r.Log)
	}
	var hers []adminSession
	g.get(t, "/v1/sessions?user=erin", &hers)
	if len(hers) != 1 {
		t.Fatalf("/v1/sessions?user=erin: %+v", hers)
	}
	if out, err := tp.Exec(tp.GatewayNS, g.bin, "sessions", "kill", hers[0].ID, "--admin", g.admin, "--config", g.config).CombinedOutput(); err != nil {
		t.Fatalf("gatehouse sessions kill: %v\n%s", err, out)
	}
	if r := erin.Wait(); r.Disconnect != "peer" || r.PeerTermReason != "killed by the operator" {
		t.Errorf("erin after the kill: %s (the server's Terminate-Request said %q)\n%s", r, r.PeerTermReason, r.Log)
	}
	r := rs[0]
	if r.MPPEBits != 128 || r.PingRx == 0 || r.LocalIP.String() != "192.0.2.77" {
		t.Errorf("dave: %s, want 128-bit MPPE, 5 of 5 pings and the Framed-IP-Address 192.0.2.77\n%s", r, r.Log)
	}
	if r := rs[1]; r.Auth != "fail" || !strings.Contains(r.Log, "E=691") {
		t.Errorf("dave with a wrong password: %s, want E=691\n%s", r, r.Log)
	}
	g.waitIdle(t, 30*time.Second)
	if !strings.Contains(g.log.String(), `"firewall":"radius-users (Filter-Id)"`) {
		t.Errorf("the Filter-Id did not choose the firewall policy:\n%s", g.log)
	}

	// The Stop goes out as the session ends; give it a moment to land.
	var start, stop, erinStop map[string][]string
	deadline := time.Now().Add(15 * time.Second)
	for (start == nil || stop == nil || erinStop == nil) && time.Now().Before(deadline) {
		for _, rec := range srv.Records() {
			status := first(rec["Acct-Status-Type"])
			switch {
			case first(rec["User-Name"]) == "erin" && status == "Stop":
				erinStop = rec
			case first(rec["User-Name"]) != "dave":
			case status == "Start":
				start = rec
			case status == "Stop":
				stop = rec
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if start == nil || stop == nil || erinStop == nil {
		t.Fatalf("accounting Start %v, Stop %v, erin's Stop %v in the detail file:\n%s", start, stop, erinStop, srv.Detail())
	}
	if got := first(erinStop["Acct-Terminate-Cause"]); got != "Admin-Reset" || first(erinStop["Acct-Session-Id"]) != hers[0].ID {
		t.Errorf("erin's Stop: Acct-Terminate-Cause %q, Acct-Session-Id %v; want Admin-Reset and %s", got, erinStop["Acct-Session-Id"], hers[0].ID)
	}
	if first(start["Acct-Session-Id"]) == "" || first(start["Acct-Session-Id"]) != first(stop["Acct-Session-Id"]) {
		t.Errorf("Acct-Session-Id Start %v, Stop %v", start["Acct-Session-Id"], stop["Acct-Session-Id"])
	}
	for name, want := range map[string]string{
		"Framed-IP-Address": "192.0.2.77", "NAS-Identifier": "gatehouse-interop", "Acct-Terminate-Cause": "User-Request",
	} {
		if got := first(stop[name]); got != want {
			t.Errorf("Stop %s = %q, want %q\n%v", name, got, want, stop)
		}
	}
	if !strings.Contains(first(stop["Class"]), "gh-class-1") && !strings.Contains(first(stop["Class"]), "0x67682d636c6173732d31") {
		t.Errorf("Stop Class = %v, want gh-class-1 echoed", stop["Class"])
	}
	if first(stop["Acct-Input-Octets"]) == "0" || first(stop["Acct-Output-Packets"]) == "0" || first(stop["Acct-Input-Octets"]) == "" {
		t.Errorf("Stop counters: in %v octets, out %v packets", stop["Acct-Input-Octets"], stop["Acct-Output-Packets"])
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// TestGatehouseProxyARP: with the pool inside the LAN's own subnet and
// pptp.proxy_arp, the LAN host reaches a client as a neighbour (it ARPs for
// the client's address, which the gateway answers): the client's ping to
// the LAN host comes back, and so does the LAN host's ping to the client.
func TestGatehouseProxyARP(t *testing.T) {
	tp := Up(t, "proxyarp")
	g := startGatehouse(t, tp, gatehouseOptions{PoolFirst: "203.0.113.100", PoolLast: "203.0.113.119", PPTP: "  proxy_arp: true\n"})
	c := tp.StartClient(t, ClientOptions{Name: "alice", User: "alice", Password: alicePassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5, Hold: 15 * time.Second})
	if !c.WaitUp(3 * time.Minute) {
		r := c.Wait()
		t.Fatalf("alice did not come up: %s\n%s", r, r.Log)
	}
	var sessions []adminSession
	g.get(t, "/v1/sessions", &sessions)
	if len(sessions) != 1 || !strings.HasPrefix(sessions[0].Address, "203.0.113.1") {
		t.Fatalf("sessions %+v, want one with an address in 203.0.113.100-119", sessions)
	}
	// The kernel answers proxy ARP after a random delay of up to
	// proxy_delay (0.8 s): resolve first, then count.
	_ = tp.Exec(tp.LanNS, "ping", "-c", "1", "-W", "3", sessions[0].Address).Run()
	out, err := tp.Exec(tp.LanNS, "ping", "-c", "3", "-i", "0.2", "-W", "5", sessions[0].Address).CombinedOutput()
	if err != nil || strings.Contains(string(out), " 0 received") {
		t.Errorf("LAN host pinging %s: %v\n%s", sessions[0].Address, err, out)
	}
	neigh, _ := tp.Exec(tp.LanNS, "ip", "neigh", "show", sessions[0].Address).CombinedOutput()
	if !strings.Contains(string(neigh), "lladdr") {
		t.Errorf("the LAN host has no neighbour entry for %s (proxy ARP did not answer): %s", sessions[0].Address, neigh)
	}
	if r := c.Wait(); r.PingTx == 0 || r.PingRx == 0 {
		t.Errorf("alice pinging the LAN host: %s\n%s", r, r.Log)
	}
	if len(g.log.Entries("proxy ARP for the pool")) != 1 {
		t.Errorf("no proxy ARP log line:\n%s", g.log)
	}
}

// TestGatehouseMPPEOptional: with pptp.mppe.required off and pptp.auth.pap
// on (config check warns about both), a client that asks for no MPPE gets
// its session in the clear and pings through, a client that requires
// MPPE-128 still gets it, and a client that insists on PAP logs in with
// PAP (the local store checks the plaintext password) or is refused with a
// wrong one.
func TestGatehouseMPPEOptional(t *testing.T) {
	tp := Up(t, "nomppe")
	g := startGatehouse(t, tp, gatehouseOptions{PPTP: "  mppe: {required: false, bits_40: true, bits_56: true}\n  auth: {pap: true, chap_md5: true, mschapv1: true}\n"})
	stopCapture := startCapture(t, tp)
	rs := tp.RunClients(t,
		ClientOptions{Name: "clear", User: "alice", Password: alicePassword, MPPE: "none", Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "mppe", User: "bob", Password: bobPassword, Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "pap", User: "alice", Password: alicePassword, Auth: "pap", Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "pap-wrong", User: "bob", Password: wrongPassword, Auth: "pap", ExpectFail: true},
		ClientOptions{Name: "mschapv1", User: "bob", Password: bobPassword, Auth: "mschap", Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "chap-md5", User: "alice", Password: alicePassword, Auth: "chap", Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5},
		ClientOptions{Name: "chap-md5-wrong", User: "bob", Password: wrongPassword, Auth: "chap", ExpectFail: true},
	)
	// MS-CHAPv1 keys MPPE-128 with RFC 3079's start key, which the Linux
	// kernel must agree with for a ping to come back.
	if r := rs[4]; r.AuthProto != "mschap" || r.Auth != "ok" || r.MPPEBits != 128 || r.PingTx == 0 || r.PingRx == 0 {
		t.Errorf("MS-CHAPv1 client: %s, want MS-CHAPv1, MPPE-128 and answered pings\n%s", r, r.Log)
	}
	if r := rs[5]; r.AuthProto != "chap" || r.Auth != "ok" || r.MPPEBits != 0 || r.PingTx == 0 || r.PingRx == 0 {
		t.Errorf("CHAP-MD5 client: %s, want CHAP-MD5, no MPPE and answered pings\n%s", r, r.Log)
	}
	if r := rs[6]; r.Connected || r.Auth != "fail" {
		t.Errorf("CHAP-MD5 client with a wrong password: %s\n%s", r, r.Log)
	}
	// 40-bit MPPE, when the operator allows it (bits_56 is on too, so the
	// server's request offers 128, 56 and 40): the client Naks down to
	// 40, and the key reduction of RFC 3079 must agree with the Linux
	// kernel's for the pings to come back. (pppd has no 56-bit option,
	// and no 40-bit after MS-CHAPv1.)
	weak := tp.RunClient(t, ClientOptions{Name: "mppe-40", User: "alice", Password: alicePassword, MPPE: "40", Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5})
	if weak.MPPEBits != 40 || weak.PingTx == 0 || weak.PingRx == 0 {
		t.Errorf("40-bit client: %s, want 40-bit MPPE and answered pings\n%s", weak, weak.Log)
	}
	// tshark on PAP, MS-CHAPv1 and CHAP-MD5 as Gatehouse sends them.
	capture := stopCapture()
	if keep := os.Getenv("GATEHOUSE_INTEROP_CAPTURE"); keep != "" {
		if err := os.WriteFile(keep+".optional", capture, 0o644); err != nil {
			t.Error(err)
		}
	}
	checkCapture(t, capture)
	if r := rs[2]; r.AuthProto != "pap" || r.Auth != "ok" || r.MPPEBits != 0 || r.PingTx == 0 || r.PingRx == 0 {
		t.Errorf("PAP client: %s, want PAP, no MPPE, every ping answered\n%s", r, r.Log)
	}
	if r := rs[3]; r.Connected || r.Auth != "fail" {
		t.Errorf("PAP client with a wrong password: %s\n%s", r, r.Log)
	}
	if r := rs[0]; r.MPPEBits != 0 || r.PingTx == 0 || r.PingRx == 0 {
		t.Errorf("client without MPPE: %s, want a clear session and every ping answered\n%s", r, r.Log)
	}
	if r := rs[1]; r.MPPEBits != 128 || r.PingRx == 0 {
		t.Errorf("client requiring MPPE: %s\n%s", r, r.Log)
	}
	g.waitIdle(t, 30*time.Second)
	modes := map[string]bool{}
	for _, e := range g.log.Entries("pptp session established") {
		m, _ := e["mppe_mode"].(string)
		modes[m] = true
	}
	if !modes["none: the session is not encrypted"] || !modes["stateless"] {
		t.Errorf("established sessions' MPPE modes %v, want one unencrypted and one stateless", modes)
	}
	methods := map[string]int{}
	for _, e := range g.log.Entries("login accepted") {
		m, _ := e["auth"].(string)
		methods[m]++
	}
	if methods["MS-CHAPv1"] != 1 || methods["CHAP-MD5"] != 1 || methods["PAP"] != 1 || methods["MS-CHAPv2"] != 3 {
		t.Errorf("logins accepted by method %v, want MS-CHAPv2 3, MS-CHAPv1, CHAP-MD5 and PAP 1 each", methods)
	}
	// PAP carries the password in the clear: it must not reach the log.
	l := g.log.String()
	for _, secret := range []string{alicePassword, bobPassword, wrongPassword} {
		if strings.Contains(l, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// lossRules drops every nth GRE packet the gateway receives and every nth
// it sends, counting what it drops. This host's kernel has no netem; nft's
// numgen makes the loss deterministic.
func lossRules(n int) string {
	return fmt.Sprintf(`table ip gatehouse_loss {
	chain in { type filter hook prerouting priority -300; ip protocol gre numgen inc mod %d == %d counter drop; }
	chain out { type filter hook output priority -300; ip protocol gre numgen inc mod %d == %d counter drop; }
}
`, n, n-1, n, n-1)
}

// nftDrops sums the packets the loss rules dropped.
func nftDrops(t *testing.T, tp *Topology) int {
	t.Helper()
	out, err := tp.Exec(tp.GatewayNS, "nft", "list", "table", "ip", "gatehouse_loss").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	total := 0
	for _, m := range regexp.MustCompile(`counter packets (\d+)`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		total += n
	}
	return total
}

// TestGatehouseMPPELoss proves RFC 3078 resynchronisation against Linux's
// ppp_mppe: with every 5th GRE packet dropped each way, a stateful session
// loses its key stream at each loss until a CCP Reset-Request and the
// flushed bit resynchronise the two ends, and a stateless one loses only
// the dropped packet. Without working resynchronisation a stateful session
// would answer almost nothing after the first loss.
func TestGatehouseMPPELoss(t *testing.T) {
	for _, mode := range []string{"stateful", "stateless"} {
		t.Run(mode, func(t *testing.T) {
			if m := os.Getenv("GATEHOUSE_LOSS_MODE"); m != "" && m != mode {
				t.Skip("GATEHOUSE_LOSS_MODE")
			}
			tp := Up(t, "loss"+mode[:5])
			opts := gatehouseOptions{}
			// The LAN host pings the client: its replies go back through
			// the tunnel.
			copts := ClientOptions{Name: mode, User: "alice", Password: alicePassword, Hold: 40 * time.Second,
				Routes: []netip.Prefix{netip.PrefixFrom(tp.LanHostIP, 32)}}
			if mode == "stateful" {
				opts.PPTP = "  mppe: {stateful: true}\n"
				copts.MPPE = "stateful"
			}
			g := startGatehouse(t, tp, opts)
			c := tp.StartClient(t, copts)
			if !c.WaitUp(3 * time.Minute) {
				r := c.Wait()
				t.Fatalf("the client did not come up: %s\n%s", r, r.Log)
			}
			var sessions []adminSession
			g.get(t, "/v1/sessions", &sessions)
			if len(sessions) != 1 {
				t.Fatalf("sessions %+v", sessions)
			}
			addr := sessions[0].Address
			nft := tp.Exec(tp.GatewayNS, "nft", "-f", "-")
			nft.Stdin = strings.NewReader(lossRules(5))
			if out, err := nft.CombinedOutput(); err != nil {
				t.Fatalf("nft: %v\n%s", err, out)
			}
			const count = 60
			out, _ := tp.Exec(tp.LanNS, "ping", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "2", addr).CombinedOutput()
			var rx, late int
			for _, m := range regexp.MustCompile(`icmp_seq=(\d+)`).FindAllStringSubmatch(string(out), -1) {
				seq, _ := strconv.Atoi(m[1])
				rx++
				if seq > count/2 {
					late++
				}
			}
			drops := nftDrops(t, tp)
			t.Logf("%s: %d of %d pings answered (%d in the second half) with %d GRE packets dropped", mode, rx, count, late, drops)
			if drops < count/5 {
				t.Errorf("only %d GRE packets dropped: the loss did not happen", drops)
			}
			// Each echo crosses the tunnel twice. Stateless loses only the
			// dropped packets: (4/5)^2 = 64% get through. Stateful also
			// loses, after each drop, the packet that reveals the gap,
			// until the flushed packet that answers the Reset-Request:
			// about (3/5)^2 = 36%. Without resynchronisation stateful
			// answers nothing after the first drop.
			want := count * 2 / 5
			if mode == "stateful" {
				want = count / 4
			}
			if rx < want || late < count/10 {
				t.Errorf("%s: %d of %d pings answered under loss (%d in the second half), want at least %d (and %d late): resynchronisation is not working\n%s",
					mode, rx, count, late, want, count/10, out)
			}
			g.get(t, "/v1/sessions", &sessions)
			if len(sessions) != 1 || sessions[0].Address != addr {
				t.Errorf("the session did not survive the loss: %+v", sessions)
			}
			c.Kill()
			if r := c.Wait(); t.Failed() {
				t.Logf("--- console of the client\n%s", r.Log)
			}
		})
	}
}

// TestGatehouseRevocation: changes reach running sessions, with the Linux
// client in the VM:
//
//   - bob is disabled with the CLI while his link is up: the gateway, with
//     no reload, ends his session within seconds (LCP Terminate-Request
//     "revoked: ...", accounting would say Admin-Reset);
//   - alice's TCP connects to the LAN host work through her group's
//     firewall policy; the operator changes that policy and reloads: her
//     next connects fail, on the same session;
//   - carol sends nothing but mDNS queries to 224.0.0.251:5353, every
//     100 ms: the idle timeout ends her session anyway;
//   - FreeRADIUS's radclient sends RFC 5176 requests: a CoA-Request with
//     Filter-Id puts dan behind a closed policy (his connects fail), a
//     Disconnect-Request ends his session; one for no session is NAKed
//     with Session-Context-Not-Found.
func TestGatehouseRevocation(t *testing.T) {
	tp := Up(t, "revoke")
	const port = 8080
	var ln net.Listener
	if err := tp.Enter(tp.LanNS, func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(tp.LanHostIP, port).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	firewall := func(p int) string {
		return fmt.Sprintf(`firewall:
  policies:
    web: [{action: allow, proto: tcp, to: %s/32, ports: "%d"}]
    all: [{action: allow}]
    closed: [{action: drop}]
  groups: {staff: web}
  default_policy: all
`, tp.LanHostIP, p)
	}
	daeSecret := filepath.Join(t.TempDir(), "dae.secret")
	if err := os.WriteFile(daeSecret, []byte("dae-secret-0x5176\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dae := fmt.Sprintf(`radius_dae:
  enabled: true
  listen: 127.0.0.1:3799
  clients: [{prefix: 127.0.0.0/8, secret_file: %q}]
`, daeSecret)
	g := startGatehouse(t, tp, gatehouseOptions{PPTP: "  idle_timeout: 15s", Extra: firewall(port) + dae})
	gh := func(args ...string) {
		t.Helper()
		cmd := exec.Command(g.bin, append(args, "--config", g.config)...)
		cmd.Stdin = strings.NewReader("carols-Passw0rd\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gatehouse %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	gh("user", "add", "carol", "--password-stdin")
	gh("user", "add", "dan", "--password-stdin")
	gh("group", "add", "staff")
	gh("group", "member", "add", "staff", "alice")

	probe := netip.AddrPortFrom(tp.LanHostIP, port)
	alice := tp.StartClient(t, ClientOptions{Name: "alice", User: "alice", Password: alicePassword, Probe: probe, Hold: 3 * time.Minute})
	bob := tp.StartClient(t, ClientOptions{Name: "bob", User: "bob", Password: bobPassword, Probe: probe, Hold: 3 * time.Minute})
	carol := tp.StartClient(t, ClientOptions{Name: "carol", User: "carol", Password: "carols-Passw0rd", Multicast: true, Hold: 2 * time.Minute})
	dan := tp.StartClient(t, ClientOptions{Name: "dan", User: "dan", Password: "carols-Passw0rd", Probe: probe, Hold: 3 * time.Minute})
	for _, c := range []*Client{alice, bob, carol, dan} {
		if !c.WaitUp(3 * time.Minute) {
			r := c.Wait()
			t.Fatalf("%s did not come up: %s\n%s", c.Name, r, r.Log)
		}
	}
	for _, c := range []*Client{alice, bob, dan} {
		if !c.WaitLog("@gh probe ok", time.Minute) {
			t.Fatalf("%s: no TCP connect to %s got through before any change:\n%s", c.Name, probe, c.vm.log())
		}
	}

	t.Run("multicast is not activity", func(t *testing.T) {
		r := carol.Wait()
		if r.Disconnect != "peer" || !strings.HasPrefix(r.PeerTermReason, "idle timeout") {
			t.Errorf("carol: %s (Terminate-Request %q); want the server's idle timeout\n%s", r, r.PeerTermReason, r.Log)
		}
		if r.Held > time.Minute {
			t.Errorf("carol held %s: the multicast kept her session alive", r.Held)
		}
	})

	t.Run("user disabled mid-session", func(t *testing.T) {
		disabled := time.Now()
		gh("user", "disable", "bob")
		r := bob.Wait()
		took := time.Since(disabled)
		if r.Disconnect != "peer" || !strings.HasPrefix(r.PeerTermReason, "revoked") {
			t.Fatalf("bob after the disable: %s (Terminate-Request %q); want the server to end it as revoked\n%s", r, r.PeerTermReason, r.Log)
		}
		t.Logf("bob's link went down %.1fs after the disable (the gateway polls the store every second)", took.Seconds())
		if e := g.log.Entries("pptp session revoked"); len(e) != 1 || !strings.Contains(fmt.Sprint(e[0]), "disabled") {
			t.Errorf("revocation log entries: %v", e)
		}
	})

	t.Run("RFC 5176 with radclient", func(t *testing.T) {
		radclient := func(code, attrs string) string {
			t.Helper()
			cmd := tp.Exec(tp.GatewayNS, "radclient", "-x", "-r", "1", "-t", "3", "127.0.0.1:3799", code, "dae-secret-0x5176")
			cmd.Stdin = strings.NewReader(attrs + ", Message-Authenticator = 0x00\n")
			out, _ := cmd.CombinedOutput() // exit 1 on a NAK
			return string(out)
		}
		var his []adminSession
		g.get(t, "/v1/sessions?user=dan", &his)
		if len(his) != 1 {
			t.Fatalf("/v1/sessions?user=dan: %+v", his)
		}
		if out := radclient("disconnect", `Acct-Session-Id = "no-such-session"`); !strings.Contains(out, "Received Disconnect-NAK") || !strings.Contains(out, "Session-Context-Not-Found") {
			t.Errorf("Disconnect-Request for no session:\n%s", out)
		}
		fails := strings.Count(dan.vm.log(), "@gh probe fail")
		if out := radclient("coa", `User-Name = "dan", Filter-Id = "closed"`); !strings.Contains(out, "Received CoA-ACK") {
			t.Fatalf("CoA-Request Filter-Id closed:\n%s", out)
		}
		if !dan.WaitLogCount("@gh probe fail", fails+1, 30*time.Second) {
			t.Fatalf("dan's connects still work behind the closed policy:\n%s", dan.vm.log())
		}
		if out := radclient("disconnect", fmt.Sprintf("Acct-Session-Id = %q", his[0].ID)); !strings.Contains(out, "Received Disconnect-ACK") {
			t.Fatalf("Disconnect-Request:\n%s", out)
		}
		r := dan.Wait()
		if r.Disconnect != "peer" || !strings.HasPrefix(r.PeerTermReason, "killed by the operator") {
			t.Errorf("dan after the Disconnect-Request: %s (Terminate-Request %q)\n%s", r, r.PeerTermReason, r.Log)
		}
		if !regexp.MustCompile(`^\++-+$`).MatchString(r.Probes) {
			t.Errorf("dan's probes %q: want successes, then failures after the CoA, on one session", r.Probes)
		}
		m := string(g.fetch(t, "/metrics"))
		for _, want := range []string{`gatehouse_radius_dae_requests_total{outcome="coa_ack"} 1`, `gatehouse_radius_dae_requests_total{outcome="disconnect_nak"} 1`,
			`gatehouse_radius_dae_requests_total{outcome="disconnect_ack"} 1`, "gatehouse_pptp_sessions_revoked_total 1\n"} {
			if !strings.Contains(m, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})

	t.Run("firewall change on reload", func(t *testing.T) {
		before := strings.Count(alice.vm.log(), "@gh probe fail")
		if err := os.WriteFile(g.config, bytes.Replace(must(os.ReadFile(g.config)), []byte(firewall(port)), []byte(firewall(port+1)), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		if !alice.WaitLogCount("@gh probe fail", before+2, time.Minute) {
			t.Fatalf("alice's connects still work after the policy changed:\n%s", alice.vm.log())
		}
		r := alice.Wait()
		if !regexp.MustCompile(`^\++-+$`).MatchString(r.Probes) {
			t.Errorf("alice's probes %q: want successes, then only failures, on one session", r.Probes)
		}
		if len(g.log.Entries("firewall policy changed")) == 0 {
			t.Errorf("no firewall change logged:\n%s", g.log)
		}
		// Her dropped SYNs are not activity either: the idle timeout
		// ended her session.
		if !strings.HasPrefix(r.PeerTermReason, "idle timeout") {
			t.Errorf("alice ended with %q; want the idle timeout (dropped packets do not count)", r.PeerTermReason)
		}
	})
	g.waitIdle(t, 30*time.Second)

	// The event index saw all of it; gatehouse logs finds it.
	type event struct{ Kind, User, Reason, Result string }
	want := map[string]string{"revoke": "bob", "kill": "dan"}
	for kind, user := range want {
		var evs []event
		g.get(t, "/v1/events?kind="+kind, &evs)
		if len(evs) != 1 || evs[0].User != user {
			t.Errorf("/v1/events?kind=%s: %+v; want one for %s", kind, evs, user)
		}
	}
	var downs []event
	g.get(t, "/v1/events?kind=session_down", &downs)
	if len(downs) != 4 {
		t.Errorf("%d session_down events, want 4: %+v", len(downs), downs)
	}
	// carol's mDNS did reach the gateway: her idle end is not for want
	// of packets.
	var carols []struct {
		PacketsIn uint64 `json:"packets_in"`
	}
	g.get(t, "/v1/events?kind=session_down&user=carol", &carols)
	if len(carols) != 1 || carols[0].PacketsIn < 30 {
		t.Errorf("carol's session_down: %+v; want at least 30 packets in (her mDNS queries)", carols)
	}
	out, err := tp.Exec(tp.GatewayNS, g.bin, "logs", "--user", "carol", "--admin", g.admin, "--config", g.config).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "session_down") || !strings.Contains(string(out), "idle timeout") {
		t.Errorf("gatehouse logs --user carol: %v\n%s", err, out)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
