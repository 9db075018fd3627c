package winbind_test

import (
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
	"github.com/gatehouse-vpn/gatehouse/test/peers/winbind"
)

// crap is the command line FreeRADIUS's mschap module runs: the
// MS-CHAPv2 challenge hash (RFC 2759 section 8.2) and the NT-Response a
// client that typed password computes.
func crap(user, password string) []string {
	var auth, peer [16]byte
	for i := range auth {
		auth[i], peer[i] = byte(i), byte(0xa0+i)
	}
	ch := mschapv2.ChallengeHash(peer, auth, user)
	resp := mschapv2.GenerateNTResponse(auth, peer, user, mschapv2.NTHash(password))
	return []string{"--request-nt-key", "--allow-mschapv2", "--username=" + user, "--domain=" + sambaad.Domain,
		"--challenge=" + hex.EncodeToString(ch[:]), "--nt-response=" + hex.EncodeToString(resp[:])}
}

func ntlmAuth(m *winbind.Member, cmd *exec.Cmd) (string, error) {
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// TestMember: a member joined to the test DC checks MS-CHAPv2 through
// winbind. The NT_KEY ntlm_auth returns is MD4(MD4(UTF-16LE(password))),
// which the gateway computes from a known password; a wrong password, a
// disabled and a locked account come back as the DC's NT status.
func TestMember(t *testing.T) {
	dc := sambaad.StartDomain(t)
	m := winbind.Join(t, dc)
	run := func(args ...string) (string, error) {
		return ntlmAuth(m, exec.Command(m.NTLMAuth, append([]string{"--configfile=" + m.SMBConf}, args...)...))
	}

	for user, pw := range map[string]string{"alice": sambaad.Users["alice"], "bob": sambaad.Users["bob"]} {
		out, err := run(crap(user, pw)...)
		hh := mschapv2.HashNTHash(mschapv2.NTHash(pw))
		if want := "NT_KEY: " + strings.ToUpper(hex.EncodeToString(hh[:])); err != nil || out != want {
			t.Errorf("%s: %q (%v), want %q", user, out, err, want)
		}
	}
	for _, c := range []struct{ user, pw, want string }{
		// Over a network logon the DC says LOGON_FAILURE for a wrong
		// password, as Windows does (the name is not in ntlm_auth's
		// output, the code is).
		{"alice", "wrong", "(0xc000006d)"},
		{"nobody", "x", "(0xc000006d)"},
		{"carol", sambaad.Users["carol"], "currently disabled and cannot be logged on to. (0xc0000072)"},
	} {
		out, err := run(crap(c.user, c.pw)...)
		if err == nil || !strings.HasSuffix(out, c.want) {
			t.Errorf("%s/%s: %q (%v), want ...%s", c.user, c.pw, out, err, c.want)
		}
	}
	// Without --allow-mschapv2 the DC refuses the response as NTLMv1.
	args := crap("bob", sambaad.Users["bob"])
	if out, err := run(append(args[:1:1], args[2:]...)...); err == nil || !strings.HasSuffix(out, "(0xc000006d)") {
		t.Errorf("without --allow-mschapv2: %q %v", out, err)
	}

	// Plaintext through the same path (ntlm_auth's basic mode).
	if out, err := run("--username=bob", "--password="+sambaad.Users["bob"]); err != nil {
		t.Errorf("bob plaintext: %q %v", out, err)
	}
	if out, err := run("--username=bob", "--password=wrong"); err == nil || !strings.Contains(out, "NT_STATUS_WRONG_PASSWORD") {
		t.Errorf("bob wrong plaintext: %q %v", out, err)
	}

	// A process that is not root reaches the privileged pipe through
	// group winbindd_priv, and only through it.
	asNobody := func(groups string, args ...string) (string, error) {
		g := "--clear-groups"
		if groups != "" {
			g = "--groups=" + groups
		}
		return ntlmAuth(m, m.Command("setpriv", append([]string{"--reuid=nobody", "--regid=nogroup", g, winbind.NTLMAuth,
			"--configfile=" + m.SMBConf}, args...)...))
	}
	if out, err := asNobody(winbind.PrivilegedGroup, crap("bob", sambaad.Users["bob"])...); err != nil || !strings.HasPrefix(out, "NT_KEY: ") {
		t.Errorf("nobody in %s: %q %v", winbind.PrivilegedGroup, out, err)
	}
	if out, err := asNobody("", crap("bob", sambaad.Users["bob"])...); err == nil || !strings.Contains(out, "(0xc0000001)") {
		t.Errorf("nobody without %s: %q %v", winbind.PrivilegedGroup, out, err)
	}

	// Three wrong passwords lock dave; then the right one says so.
	for range 3 {
		run(crap("dave", "wrong")...)
	}
	if out, err := run(crap("dave", sambaad.Users["dave"])...); err == nil || !strings.HasSuffix(out, "(0xc0000234)") {
		t.Errorf("locked dave: %q %v", out, err)
	}

	// winbindd stopped: ntlm_auth cannot reach it.
	m.StopWinbindd()
	if out, err := run(crap("bob", sambaad.Users["bob"])...); err == nil || !strings.Contains(out, "(0xc0000001)") {
		t.Errorf("winbindd stopped: %q %v", out, err)
	}
}
