package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// gh runs the CLI in-process and returns its exit code and output.
func gh(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := [][]string{
		{"bogus"},
		{"policy", "bogus"},
		{"config", "check", "--no-such-flag"},
		{"policy", "explain"},
		{"policy", "explain", "a", "b"},
		{"policy", "eval", "--config", "../../examples/quickstart/gatehouse.yaml", "--user", "alice"},
		{"policy", "eval", "--config", "../../examples/quickstart/gatehouse.yaml", "--service", "pptp", "--user", "alice", "--credential", "chap"}, // CHAP-MD5 is "chap-md5"
		{"version", "extra"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := gh(t, "", args...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, "Run 'gatehouse") {
				t.Errorf("stderr lacks the help hint: %q", stderr)
			}
		})
	}
}

func TestHelpIsGroupedWithExamples(t *testing.T) {
	code, out, _ := gh(t, "", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"Running the gateway:", "Configuration and policies:", "Examples:", "serve", "policy"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, cmd := range [][]string{{"serve"}, {"config", "check"}, {"policy", "explain"}, {"policy", "check"}, {"policy", "eval"}} {
		code, out, _ := gh(t, "", append(cmd, "--help")...)
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%v --help: exit %d, examples missing:\n%s", cmd, code, out)
		}
	}
}

func TestConfigCheckExamples(t *testing.T) {
	// The reference policy is the README's example, whose lone DIGIPASS
	// branch is weak under MS-CHAPv2: the check must say so.
	code, out, stderr := gh(t, "", "config", "check", "--config", "../../examples/reference.yaml")
	if code != 0 || !strings.Contains(out, `branch "DIGIPASS" is weak over MS-CHAPv2`) || !strings.Contains(out, "plugins.external.vendor-x.binary: /usr/lib/gatehouse/plugins/gatehouse-plugin-x is not installed yet") ||
		!strings.HasSuffix(out, "reference.yaml: OK, 2 warnings\n") {
		t.Errorf("reference.yaml: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = gh(t, "", "config", "check", "--config", "../../examples/quickstart/gatehouse.yaml")
	if code != 0 || !strings.Contains(out, "OK, 2 warnings") {
		t.Errorf("quickstart: exit %d\n%s", code, out)
	}
}

// TestConfigCheckListsEveryProblem: a file with several mistakes reports
// each, with file:line:col, policy problems included, and exits 1.
func TestConfigCheckListsEveryProblem(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `backends:
  Password: {type: local}
  OATH: {type: oath}
  DirectoryService: {type: ldap}
services:
  pptp:
    policy: (Password and OATH2) or DIGIPASS
  vpn:
    polcy: Password
  corp:
    policy: DirectoryService and OATH
  two:
    policy: Foo or Bar
pptp:
  service: corp
  echo_timeout: 5
`)
	code, out, _ := gh(t, "", "config", "check", "--config", path)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	want := []string{
		path + `:7:27: services.pptp.policy: unknown back-end "OATH2"; did you mean "OATH"?`,
		`    (Password and OATH2) or DIGIPASS`,
		`                  ^`,
		path + `:8:3: services.vpn: missing required key "policy"`,
		path + `:9:5: services.vpn: unknown key "polcy"; did you mean "policy"?`,
		path + `:11:13: service corp: branch "DirectoryService and OATH" cannot work over MS-CHAPv2: DirectoryService can only verify a whole secret, it cannot supply its part of a combined one`,
		path + `:16:17: pptp.echo_timeout: bare number 5 is not a duration; write a duration such as 10s`,
		path + `:13:13: services.two.policy: unknown back-end "Foo"`,
		path + `:13:20: services.two.policy: unknown back-end "Bar"`,
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") && !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
	if !regexp.MustCompile(`: ([5-9]|1[0-9]) errors, 0 warnings\n$`).MatchString(out) {
		t.Errorf("summary line wrong:\n%s", out)
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

func TestPolicyCheck(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `backends:
  Password: {type: local}
  DIGIPASS: {type: digipass}
services:
  pptp:
    policy: Password or DIGIPASS
`)
	code, out, _ := gh(t, "", "policy", "check", "--config", path)
	if code != 0 || !strings.Contains(out, `warning: service pptp: branch "DIGIPASS" is weak over MS-CHAPv2`) || !strings.Contains(out, "OK, 1 warning") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestPolicyExplain(t *testing.T) {
	code, _, stderr0 := gh(t, "", "policy", "explain", "password AND oath or DIGIPASS")
	if code != 1 || !strings.Contains(stderr0, `unknown back-end "password"; did you mean "Password"?`) {
		t.Errorf("unknown lower-case names: exit %d", code)
	}
	code, out, stderr := gh(t, "", "policy", "explain", "Password AND OATH or DIGIPASS")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden, err := os.ReadFile("testdata/explain.golden")
	if err != nil {
		t.Fatal(err)
	}
	if out != string(golden) {
		t.Errorf("explain output differs from testdata/explain.golden:\n%s", out)
	}
	code, _, stderr = gh(t, "", "policy", "explain", "(Password and ) or OATH")
	if code != 1 || !strings.Contains(stderr, "unexpected \")\" at column 15") || !strings.Contains(stderr, "    (Password and ) or OATH\n                  ^") {
		t.Errorf("syntax error: exit %d\n%s", code, stderr)
	}
}

func TestPolicyEval(t *testing.T) {
	qs := "../../examples/quickstart/gatehouse.yaml"
	code, out, stderr := gh(t, "correct horse123456\n", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice", "--secret-stdin")
	if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "Demo and Codes"`) || !strings.Contains(out, "dry run") || !strings.Contains(out, "S=") {
		t.Errorf("accept: exit %d\n%s%s", code, out, stderr)
	}
	// Dry run is the default: the same code works again.
	code, _, _ = gh(t, "correct horse123456\n", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice", "--secret-stdin", "--credential", "plaintext")
	if code != 0 {
		t.Errorf("second dry run: exit %d", code)
	}
	for _, kind := range []string{"mschapv1", "chap-md5"} {
		code, out, stderr = gh(t, "correct horse123456\n", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice", "--secret-stdin", "--credential", kind)
		if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "Demo and Codes"`) {
			t.Errorf("%s: exit %d\n%s%s", kind, code, out, stderr)
		}
		if kind == "mschapv1" && !strings.Contains(out, "MS-CHAPv1: MPPE key derived") {
			t.Errorf("mschapv1: no key line\n%s", out)
		}
	}
	code, out, _ = gh(t, "correct horse000000\n", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice", "--secret-stdin", "--credential", "chap-md5")
	if code != 1 || !strings.Contains(out, "decision: REJECT") {
		t.Errorf("chap-md5 reject: exit %d\n%s", code, out)
	}
	code, out, _ = gh(t, "correct horse000000\n", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice", "--secret-stdin")
	if code != 1 || !strings.Contains(out, "decision: REJECT") || !strings.Contains(out, "no combination matches the response (Demo: 1 candidate, Codes: 2 candidates)") {
		t.Errorf("reject: exit %d\n%s", code, out)
	}
	if strings.Contains(out+stderr, "correct horse") {
		t.Error("the secret appears in the output")
	}
	code, _, stderr = gh(t, "", "policy", "eval", "-c", qs, "--service", "pptp", "--user", "alice")
	if code != 2 || !strings.Contains(stderr, "--secret-stdin") {
		t.Errorf("no terminal: exit %d %q", code, stderr)
	}
}

// TestServeQuickstart runs the gateway the way "make run" does, on the
// quickstart configuration with the admin listener on a free port (and a
// Unix socket), and checks that it answers, that only /healthz answers
// without the admin token, and that it stops cleanly.
func TestServeQuickstart(t *testing.T) {
	data, err := os.ReadFile("../../examples/quickstart/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(data), "127.0.0.1:9723", "127.0.0.1:0", 1)
	text = strings.Replace(text, "state_dir: ../../var", "state_dir: ./state", 1)
	text = strings.Replace(text, "admin:\n", "admin:\n  socket: admin.sock\n", 1)
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, path, logs) }()

	addr := waitFor(t, logs, `"msg":"admin listener started","addr":"`)
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok\n" {
		t.Errorf("healthz: %q", body)
	}
	tokenFile := filepath.Join(dir, "state", "admin.token")
	if st, err := os.Stat(tokenFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin token file: %v %v", st, err)
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	get := func(auth string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/services", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return http.DefaultClient.Do(req)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + strings.Repeat("0", 64), "Basic " + strings.TrimSpace(string(token))} {
		resp, err := get(auth)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("/v1/services with Authorization %q: %s, want 401 with WWW-Authenticate", auth, resp.Status)
		}
	}
	resp, err = get("Bearer " + strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	var services []struct{ Name, Policy string }
	_ = json.NewDecoder(resp.Body).Decode(&services)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(services) != 2 || services[0].Policy != "Demo and Codes" {
		t.Errorf("services: %s %+v", resp.Status, services)
	}
	// /v1/status says which build answers.
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	var status struct {
		Build   BuildInfo `json:"build"`
		Started time.Time `json:"started"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&status)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || status.Build != buildInfo() || status.Build.Go == "" || time.Since(status.Started) > time.Minute {
		t.Errorf("status: %s %+v", resp.Status, status)
	}
	if !strings.Contains(logs.String(), `"msg":"admin request refused: no valid token"`) {
		t.Errorf("refused requests were not logged")
	}
	// The socket asks for no token; the CLI prefers it.
	sock := filepath.Join(dir, "state", "admin.sock")
	if st, err := os.Stat(sock); err != nil || st.Mode().Perm() != 0o660 {
		t.Errorf("admin socket: %v %v", st, err)
	}
	if code, out, stderr := gh(t, "", "plugin", "list", "--config", path); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Errorf("plugin list over the socket: exit %d %s%s", code, out, stderr)
	}
	// Over TCP the CLI shows the token from the configuration's file.
	if code, out, stderr := gh(t, "", "plugin", "list", "--config", path, "--admin", addr); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Errorf("plugin list over TCP: exit %d %s%s", code, out, stderr)
	}
	if code, _, stderr := gh(t, "", "plugin", "list", "--config", "/nonexistent.yaml", "--admin", addr); code == 0 || !strings.Contains(stderr, "the admin API needs the token") {
		t.Errorf("plugin list without a token: exit %d %s", code, stderr)
	}
	// Nobody else may list or write the state directory; as root it is
	// 0711, so that plugins.user can reach the store's directory.
	if st, err := os.Stat(filepath.Join(dir, "state")); err != nil || st.Mode().Perm()&0o766 != 0o700 {
		t.Errorf("state directory: %v %v", st, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(logs.String(), "event index cannot be opened") {
		t.Errorf("first start without a state directory: no event index:\n%s", logs.String())
	}
	// One line each, not one from serve and another from a layer below.
	for _, msg := range []string{"gateway started", "gateway stopped"} {
		if n := strings.Count(logs.String(), `"msg":"`+msg+`"`); n != 1 {
			t.Errorf("%d %q lines, want 1:\n%s", n, msg, logs.String())
		}
	}
	if strings.Contains(logs.String(), "correct horse") || strings.Contains(logs.String(), "123456") {
		t.Errorf("a secret appears in the logs:\n%s", logs.String())
	}
	// The open files limit is said at start, and is what getrlimit says.
	if want := fmt.Sprintf(`"open_files_limit":%d`, openFilesLimit()); openFilesLimit() == 0 || !strings.Contains(logs.String(), want) {
		t.Errorf("the start line lacks %s:\n%s", want, logs.String())
	}
}

// TestServeRefusesUnbuiltSettings: settings the PPTP server cannot honour
// stop serve (and config check) with the line to change, rather than being
// ignored: PAP and CHAP-MD5 give no MPPE keys, so they need
// pptp.mppe.required off. MS-CHAPv1 gives keys and is accepted.
func TestServeRefusesUnbuiltSettings(t *testing.T) {
	path := writeFile(t, "gatehouse.yaml", `backends:
  Demo: {type: memory, users: {alice: [x]}}
services:
  pptp: {policy: Demo}
pptp:
  auth: {pap: true, chap_md5: true, mschapv1: true}
`)
	err := serve(context.Background(), path, io.Discard)
	for _, want := range []string{
		path + ":6:15: pptp.auth.pap: PAP gives no MPPE keys, so a PAP session cannot be encrypted: with pptp.auth.pap on, set pptp.mppe.required: false",
		path + ":6:31: pptp.auth.chap_md5: CHAP-MD5 gives no MPPE keys, so a CHAP-MD5 session cannot be encrypted: with pptp.auth.chap_md5 on, set pptp.mppe.required: false",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "pptp.auth.mschapv1:") {
		t.Errorf("MS-CHAPv1 refused: %v", err)
	}
}

func waitFor(t *testing.T, b *syncBuffer, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := b.String()
		if i := strings.Index(s, prefix); i >= 0 {
			rest := s[i+len(prefix):]
			return rest[:strings.IndexByte(rest, '"')]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in logs:\n%s", prefix, b.String())
	return ""
}

// TestConfigCheckPluginPin: config check hashes external plugin binaries,
// so a rebuilt plugin whose pin was not updated is caught before a start.
func TestConfigCheckPluginPin(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p"), []byte("not the pinned build"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "g.yaml", fmt.Sprintf(`plugins:
  dir: %s
  external:
    x: {binary: p, sha256: %s}
backends:
  X: {type: plugin, plugin: x, capabilities: [verify-plaintext]}
services:
  radius: {policy: X}
pptp: {enabled: false}
`, dir, strings.Repeat("ab", 32)))
	code, out, _ := gh(t, "", "config", "check", "--config", path)
	want := fmt.Sprintf("plugins.external.x.binary: %s has SHA-256 ", filepath.Join(dir, "p"))
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "the configuration pins "+strings.Repeat("ab", 32)) {
		t.Errorf("exit %d\n%s", code, out)
	}
}
