package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
	"github.com/gatehouse-vpn/gatehouse/test/peers/winbind"
)

// winbindPolicies are the PPTP policies with DirectoryService that must
// work over MS-CHAPv2 against Active Directory: the directory alone, and
// in an alternative with other back-ends before or after it. (A
// combination such as "DirectoryService and OATH" cannot work over
// MS-CHAPv2 with any directory: the client hashes the password and the
// code together, and only a back-end that can supply the password in
// clear could take its part.)
var winbindPolicies = map[string]string{
	"ad":          "DirectoryService",
	"ad-or-local": "DirectoryService or Password",
	"local-or-ad": "Password or DirectoryService",
	"ad-or-otp":   "DirectoryService or (Password and OATH)",
}

// TestWinbindEndToEnd: a gateway on a member of a real Samba AD domain,
// its DirectoryService checking MS-CHAPv2 through winbind. config check
// accepts the PPTP policies with DirectoryService, policy explain says
// they work over MS-CHAPv2, and policy eval (the real plugin process, as
// nobody with group winbindd_priv, in the member's mount namespace where
// /run/samba/winbindd is the member's winbindd) logs in an AD user over
// MS-CHAPv2 and PAP, as alice, EXAMPLE\alice and alice@example.test,
// and refuses a wrong password, a disabled and a locked account, and
// another domain, with the reasons the back-end gives.
func TestWinbindEndToEnd(t *testing.T) {
	dc := sambaad.StartDomain(t)
	m := winbind.Join(t, dc)
	dir := worldDir(t)
	var services strings.Builder
	for name, p := range winbindPolicies {
		fmt.Fprintf(&services, "  %s: {policy: %q}\n", name, p)
	}
	text := fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
plugins: {call_timeout: 10s}
backends:
  Password: {type: local}
  OATH: {type: oath}
%sservices:
%spptp: {enabled: true, service: ad}
`, m.BackendYAML(dc), services.String())
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := gh(t, "", "config", "check", "--config", path); code != 0 {
		t.Fatalf("config check: exit %d\n%s%s", code, out, stderr)
	}
	works := regexp.MustCompile(`(?m)^\s+\d+\. DirectoryService\n\s+MS-CHAPv2\s+works$`)
	for _, p := range winbindPolicies {
		code, out, stderr := gh(t, "", "policy", "explain", "--config", path, p)
		if code != 0 || !works.MatchString(out) {
			t.Errorf("policy explain %q: exit %d\n%s%s", p, code, out, stderr)
		}
	}

	self, err := selfPath()
	if err != nil {
		t.Fatal(err)
	}
	eval := func(service, user, secret, credential string) (int, string) {
		cmd := m.Command(self, "policy", "eval", "--config", path, "--service", service, "--user", user,
			"--secret-stdin", "--credential", credential)
		cmd.Env = append(os.Environ(), cliEnv+"=1")
		cmd.Stdin = strings.NewReader(secret + "\n")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		if err != nil {
			code = cmd.ProcessState.ExitCode()
		}
		return code, out.String()
	}
	for service := range winbindPolicies {
		for _, user := range []string{"alice", `EXAMPLE\alice`, "alice@example.test"} {
			code, out := eval(service, user, sambaad.Users["alice"], "mschapv2")
			if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "DirectoryService"`) ||
				!strings.Contains(out, "groups: admins, everyone, staff, vpn-users") {
				t.Errorf("%s: MS-CHAPv2 %s: exit %d\n%s", service, user, code, out)
			}
		}
	}
	_, sample := eval("ad-or-otp", `EXAMPLE\alice`, sambaad.Users["alice"], "mschapv2")
	t.Logf("%s", sample)
	code, out := eval("ad", `EXAMPLE\bob`, sambaad.Users["bob"], "plaintext")
	if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "DirectoryService"`) {
		t.Errorf("PAP bob: exit %d\n%s", code, out)
	}
	for _, c := range []struct{ service, user, secret, credential, why string }{
		{"ad", "alice", "Wrong-Pass1", "mschapv2", "wrong password"},
		{"ad-or-local", "bob", "Wrong-Pass1", "mschapv2", "wrong password"},
		{"ad", "carol", sambaad.Users["carol"], "mschapv2", "account disabled"},
		{"ad", `OTHER\alice`, sambaad.Users["alice"], "mschapv2", `domain "OTHER" is not this gateway's domain EXAMPLE`},
		{"ad", "bob", "Wrong-Pass1", "plaintext", "wrong password"},
	} {
		if code, out := eval(c.service, c.user, c.secret, c.credential); code != 1 || !strings.Contains(out, c.why) {
			t.Errorf("%s %s %s: exit %d, want 1 and %q\n%s", c.service, c.credential, c.user, code, c.why, out)
		}
	}
	// Three wrong passwords through the DC lock dave.
	for range 3 {
		eval("ad", "dave", "Wrong-Pass1", "mschapv2")
	}
	if code, out := eval("ad", "dave", sambaad.Users["dave"], "mschapv2"); code != 1 || !strings.Contains(out, "account locked") {
		t.Errorf("locked dave: exit %d\n%s", code, out)
	}
}
