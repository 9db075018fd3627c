package radiuspeer_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// TestStartRadtest checks the harness with FreeRADIUS's own client.
func TestStartRadtest(t *testing.T) {
	radtest := radiuspeer.RequireTool(t, "radtest")
	srv := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{
		{Name: "bob", Password: "bobpass", Reply: []string{`Filter-Id := "vpn-users"`, `Framed-IP-Address := 10.8.0.2`}},
	}})
	run := func(pw string) string {
		out, _ := exec.Command(radtest, "-t", "pap", "bob", pw, srv.AuthAddr, "0", srv.Secret).CombinedOutput()
		return string(out)
	}
	if out := run("bobpass"); !strings.Contains(out, "Access-Accept") || !strings.Contains(out, `Filter-Id = "vpn-users"`) {
		t.Errorf("bob/bobpass: %s", out)
	}
	if out := run("wrong"); !strings.Contains(out, "Access-Reject") {
		t.Errorf("bob/wrong: %s", out)
	}
	srv.Stop()
	srv.Start()
	if out := run("bobpass"); !strings.Contains(out, "Access-Accept") {
		t.Errorf("after restart: %s", out)
	}
}

func TestParseDetail(t *testing.T) {
	recs := radiuspeer.ParseDetail("Tue Nov 24 02:00:00 2026\n\tAcct-Status-Type = Start\n\tUser-Name = \"bob\"\n\nTue Nov 24 02:00:01 2026\n\tAcct-Status-Type = Stop\n\n")
	if len(recs) != 2 || recs[0]["User-Name"][0] != "bob" || recs[1]["Acct-Status-Type"][0] != "Stop" {
		t.Fatalf("%v", recs)
	}
}

// TestProxyMode: radtest -> FreeRADIUS in proxy mode -> FreeRADIUS with
// the user: the answer of the home server comes back.
func TestProxyMode(t *testing.T) {
	radtest := radiuspeer.RequireTool(t, "radtest")
	home := radiuspeer.Start(t, radiuspeer.Options{Users: []radiuspeer.User{{Name: "bob", Password: "bobpass", Reply: []string{`Filter-Id := "from-home"`}}}})
	proxy := radiuspeer.Start(t, radiuspeer.Options{Secret: "nas-secret", Proxy: &radiuspeer.Proxy{Addr: home.AuthAddr, Secret: home.Secret}})
	run := func(pw string) string {
		out, _ := exec.Command(radtest, "-t", "pap", "bob", pw, proxy.AuthAddr, "0", "nas-secret").CombinedOutput()
		return string(out)
	}
	if out := run("bobpass"); !strings.Contains(out, "Access-Accept") || !strings.Contains(out, `Filter-Id = "from-home"`) {
		t.Errorf("through the proxy: %s", out)
	}
	if out := run("wrong"); !strings.Contains(out, "Access-Reject") {
		t.Errorf("wrong password through the proxy: %s", out)
	}
}
