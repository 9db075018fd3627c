package ldap_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
)

func winbindOptions(t *testing.T, extra map[string]string) *ldap.Options {
	t.Helper()
	opts := map[string]string{"url": "ldap://127.0.0.1", "base_dn": "OU=Staff,DC=example,DC=test", "directory": "ad",
		"mschapv2": "winbind", "winbind_domain": "example", "wbinfo": "/bin/true"}
	for k, v := range extra {
		opts[k] = v
	}
	o, err := ldap.ParseOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestWinbindOptions(t *testing.T) {
	o := winbindOptions(t, nil)
	if o.MSCHAPv2 != ldap.MSCHAPv2Winbind || o.WinbindDomain != "EXAMPLE" || o.Realm != "example.test" ||
		o.NTLMAuth != "/usr/bin/ntlm_auth" || o.Wbinfo != "/bin/true" || o.SMBConf != "" || o.WinbindGroup != "winbindd_priv" {
		t.Errorf("%+v", o)
	}
	for _, c := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"directory": "ad", "mschapv2": "winbind"}, "winbind_domain: required"},
		{map[string]string{"directory": "ad", "mschapv2": "winbind", "winbind_domain": "EX AMPLE"}, "not a NetBIOS domain name"},
		{map[string]string{"directory": "ad", "mschapv2": "winbind", "winbind_domain": "--option=x"}, "not a NetBIOS domain name"},
		{map[string]string{"directory": "ad", "mschapv2": "winbind", "winbind_domain": "X", "ntlm_auth": "ntlm_auth"}, "not an absolute path"},
		{map[string]string{"directory": "ad", "mschapv2": "winbind", "winbind_domain": "X", "smb_conf": "smb.conf"}, "not an absolute path"},
		{map[string]string{"directory": "ad", "mschapv2": "winbind", "winbind_domain": "X", "nt_hash_attribute": "a"}, "set one, not both"},
		{map[string]string{"mschapv2": "winbind", "winbind_domain": "X"}, "set directory: ad"},
		{map[string]string{"directory": "ad", "mschapv2": "ntlm"}, "expected nt_hash or winbind"},
		{map[string]string{"mschapv2": "nt_hash"}, "needs nt_hash_attribute"},
		{map[string]string{"directory": "ad", "winbind_domain": "X"}, "winbind_domain: only with mschapv2: winbind"},
	} {
		opts := map[string]string{"url": "ldap://x", "base_dn": "dc=example,dc=test"}
		for k, v := range c.opts {
			opts[k] = v
		}
		if _, err := ldap.ParseOptions(opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.opts, err, c.want)
		}
	}
	if _, err := ldap.ParseOptions(map[string]string{"url": "ldap://x", "base_dn": "o=corp", "directory": "ad", "mschapv2": "winbind", "winbind_domain": "X"}); err == nil || !strings.Contains(err.Error(), "realm: required") {
		t.Errorf("no DC= in base_dn: %v", err)
	}
	if o, err := ldap.ParseOptions(map[string]string{"url": "ldap://x", "base_dn": "o=corp", "directory": "ad", "mschapv2": "winbind", "winbind_domain": "X", "realm": "Corp.Example"}); err != nil || o.Realm != "corp.example" {
		t.Errorf("realm: %v %v", o, err)
	}
}

func TestWinbindDomain(t *testing.T) {
	o := winbindOptions(t, nil)
	for name, ok := range map[string]bool{
		"alice": true, `EXAMPLE\alice`: true, `example\alice`: true, `example.test\alice`: true, "alice@example.test": true,
		`OTHER\alice`: false, `example.com\alice`: false, `\alice`: false, `EXAMPLE\OTHER\alice`: false,
	} {
		if got := o.DomainRefusal(name) == ""; got != ok {
			t.Errorf("%q: accepted %v, want %v (%s)", name, got, ok, o.DomainRefusal(name))
		}
	}
	if why := o.DomainRefusal(`OTHER\alice`); why != `domain "OTHER" is not this gateway's domain EXAMPLE (example.test)` {
		t.Errorf("reason %q", why)
	}
}

// fakeNTLMAuth writes an ntlm_auth that records its arguments in DIR/args
// and answers out with exit status code.
func fakeNTLMAuth(t *testing.T, out string, code int) (path, args string) {
	t.Helper()
	dir := t.TempDir()
	path, args = filepath.Join(dir, "ntlm_auth"), filepath.Join(dir, "args")
	if err := os.WriteFile(filepath.Join(dir, "out"), []byte(out+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s\ncat %s\nexit %d\n", args, filepath.Join(dir, "out"), code)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, args
}

// What ntlm_auth prints becomes a key, a verdict with the MS-CHAP error
// code, or an error that fails the login closed.
func TestNTLMAuthAnswers(t *testing.T) {
	ch := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	var resp [24]byte
	resp[0], resp[23] = 0xab, 0xcd
	for _, c := range []struct {
		out          string
		code         int
		key, reason  string
		mschap       int
		errSubstring string
	}{
		{"NT_KEY: F536E56C07A13510DFDC2672A9C844D2", 0, "f536e56c07a13510dfdc2672a9c844d2", "", 0, ""},
		{"The attempted logon is invalid. This is either due to a bad username or authentication information. (0xc000006d)", 1, "", "wrong password", 691, ""},
		{"NT_STATUS_WRONG_PASSWORD: When trying to update a password, this return status indicates that the value provided as the current password is not correct. (0xc000006a)", 1, "", "wrong password", 691, ""},
		{"The referenced account is currently disabled and cannot be logged on to. (0xc0000072)", 1, "", "account disabled", 647, ""},
		{"The user account has been automatically locked because too many invalid logon attempts or password change attempts have been requested. (0xc0000234)", 1, "", "account locked", 647, ""},
		{"The user's account has expired. (0xc0000193)", 1, "", "account expired", 647, ""},
		{"The user's password has expired. (0xc0000071)", 1, "", "password expired", 648, ""},
		{"The user's password must be changed before signing in. (0xc0000224)", 1, "", "user must reset password", 648, ""},
		{"Reading winbind reply failed! (0xc0000001)", 1, "", "", 0, "winbind did not answer: is winbindd running"},
		{"No logon servers are currently available to service the logon request. (0xc000005e)", 1, "", "", 0, "no domain controller reachable"},
		{"The SAM database on the Windows Server does not have a computer account for this workstation trust relationship. (0xc000018b)", 1, "", "", 0, "not joined to the domain"},
		{"Something new (0xc0001234)", 1, "", "", 0, "answered 0xc0001234"},
		{"garbage", 1, "", "", 0, "garbage"},
		{"accepted", 0, "", "", 0, "printed no NT_KEY"},
	} {
		path, argsFile := fakeNTLMAuth(t, c.out, c.code)
		o := winbindOptions(t, map[string]string{"ntlm_auth": path, "smb_conf": "/etc/gatehouse/smb.conf"})
		key, reason, mschap, err := o.NTLMAuthOf(context.Background(), "alice", ch, resp)
		switch {
		case c.errSubstring != "":
			if err == nil || !strings.Contains(err.Error(), c.errSubstring) {
				t.Errorf("%q: error %v, want %q", c.out, err, c.errSubstring)
			}
		case err != nil:
			t.Errorf("%q: %v", c.out, err)
		case c.key != "":
			if key == nil || fmt.Sprintf("%x", key[:]) != c.key {
				t.Errorf("%q: key %x", c.out, key)
			}
		case key != nil || reason != c.reason || mschap != c.mschap:
			t.Errorf("%q: key %v, reason %q, code %d; want %q, %d", c.out, key != nil, reason, mschap, c.reason, c.mschap)
		}
		b, _ := os.ReadFile(argsFile)
		want := "--configfile=/etc/gatehouse/smb.conf\n--request-nt-key\n--allow-mschapv2\n--username=alice\n--domain=EXAMPLE\n" +
			"--challenge=0102030405060708\n--nt-response=ab" + strings.Repeat("00", 22) + "cd\n"
		if string(b) != want {
			t.Errorf("arguments:\n%s\nwant\n%s", b, want)
		}
	}

	// LOGON_FAILURE is also what a member whose machine account is gone
	// gets: wbinfo --ping-dc failing makes it an error.
	path, _ := fakeNTLMAuth(t, "The attempted logon is invalid. (0xc000006d)", 1)
	o := winbindOptions(t, map[string]string{"ntlm_auth": path, "wbinfo": "/bin/false"})
	if _, _, _, err := o.NTLMAuthOf(context.Background(), "alice", ch, resp); err == nil || !strings.Contains(err.Error(), "secure channel with the domain does not work") {
		t.Errorf("broken trust: %v", err)
	}
	o = winbindOptions(t, map[string]string{"ntlm_auth": path, "wbinfo": "/nonexistent/wbinfo"})
	if _, _, _, err := o.NTLMAuthOf(context.Background(), "alice", ch, resp); err == nil || !strings.Contains(err.Error(), "cannot tell a wrong password from a broken trust") {
		t.Errorf("no wbinfo: %v", err)
	}

	// Missing, and too slow: errors.
	o = winbindOptions(t, map[string]string{"ntlm_auth": "/nonexistent/ntlm_auth"})
	if _, _, _, err := o.NTLMAuthOf(context.Background(), "alice", ch, resp); err == nil || !strings.Contains(err.Error(), "run ntlm_auth") {
		t.Errorf("missing ntlm_auth: %v", err)
	}
	dir := t.TempDir()
	slow := filepath.Join(dir, "ntlm_auth")
	os.WriteFile(slow, []byte("#!/bin/sh\nexec sleep 10\n"), 0o755)
	o = winbindOptions(t, map[string]string{"ntlm_auth": slow, "timeout": "200ms"})
	start := time.Now()
	if _, _, _, err := o.NTLMAuthOf(context.Background(), "alice", ch, resp); err == nil || !strings.Contains(err.Error(), "no answer within") || time.Since(start) > 3*time.Second {
		t.Errorf("slow ntlm_auth: %v after %s", err, time.Since(start))
	}
}
