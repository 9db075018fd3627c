package interop

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
	"github.com/gatehouse-vpn/gatehouse/test/peers/winbind"
)

// TestGatehouseActiveDirectory is issue 16's proof with the Linux client:
// the gateway is a member of a Samba Active Directory domain, and its
// DirectoryService (the ldap back-end, mschapv2: winbind) hands each
// MS-CHAPv2 response to the domain controller through winbind.
//
// Where everything runs: the DC (sambaad.StartDomain) and the member's
// winbindd (winbind.Join) are started on a thread inside the topology's
// gateway namespace, so both listen and talk on that namespace's
// loopback (127.0.0.1, where the member's /etc/hosts puts
// dc1.example.test), out of reach of the host's own. "gatehouse serve"
// runs in the gateway namespace and in the member's mount namespace at
// once (started inside GatewayNS through winbind.Member.Command), so its
// plugin's ntlm_auth finds the member's winbindd at /run/samba/winbindd.
//
// One batch of client VMs, all at once:
//
//   - alice logs in with MS-CHAPv2 (the DC checks it; the MPPE keys come
//     from the NT session key winbind returns), gets MPPE-128 stateless,
//     pings the LAN host through the tunnel, and the LAN host pings her
//     back;
//   - EXAMPLE\bob logs in with the down-level domain prefix a Windows
//     client sends, with MPPE-128;
//   - bob with a wrong password is refused: pppd reports the CHAP failure
//     with E=691, the gateway logs and records "wrong password", code 691;
//   - dave, locked in the domain by three wrong passwords (given to the
//     DC through the member's winbind before the batch), is refused with
//     his right password: E=647, "account locked".
//   - PAP over the RADIUS front door (on the same service) as alice with her
//     AD password is accepted and with a wrong one rejected: plaintext is an
//     LDAP bind as the user.
func TestGatehouseActiveDirectory(t *testing.T) {
	tp := Up(t, "ad")
	winbind.Require(t) // skips or fails here, not inside the namespace
	var dc *sambaad.Server
	var m *winbind.Member
	if err := tp.Enter(tp.GatewayNS, func() error {
		dc = sambaad.StartDomain(t)
		m = winbind.Join(t, dc)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Lock dave: three wrong passwords through the member's winbind
	// (ntlm_auth reaches winbindd by its socket; winbindd asks the DC).
	ntlmAuth := func(password string) string {
		out, _ := exec.Command(m.NTLMAuth, "--configfile="+m.SMBConf, "--username=dave", "--password="+password).CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	for range 3 {
		if out := ntlmAuth("Wrong-Pass1"); !strings.Contains(out, "NT_STATUS_WRONG_PASSWORD") {
			t.Fatalf("ntlm_auth for dave with a wrong password: %q", out)
		}
	}
	if out := ntlmAuth(sambaad.Users["dave"]); !strings.Contains(out, "NT_STATUS_ACCOUNT_LOCKED_OUT") {
		t.Fatalf("dave is not locked after three wrong passwords: ntlm_auth says %q", out)
	}

	// The RADIUS front door on the same service: a PAP login as the same
	// AD user (an LDAP bind as the user, the documented plaintext rule).
	nasSecret := filepath.Join(t.TempDir(), "nas.secret")
	if err := os.WriteFile(nasSecret, []byte("nas-secret-ad-0x1812\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	radiusFront := fmt.Sprintf(`radius_server:
  enabled: true
  listen: 127.0.0.1:1812
  service: pptp
  clients: [{prefix: 127.0.0.0/8, secret_file: %q}]
`, nasSecret)

	g := startGatehouse(t, tp, gatehouseOptions{
		Backends: m.BackendYAML(dc),
		Policy:   "DirectoryService",
		// ntlm_auth, winbindd and the DC share two TCG-loaded cores.
		Extra:   "plugins: {call_timeout: 30s}\n" + radiusFront,
		Command: m.Command,
	})

	alice := tp.StartClient(t, ClientOptions{Name: "alice", User: "alice", Password: sambaad.Users["alice"],
		Ping: tp.LanHostIP, MinPingReplies: 1, PingCount: 5, Hold: 30 * time.Second})
	others := []*Client{
		tp.StartClient(t, ClientOptions{Name: "domain-bob", User: `EXAMPLE\bob`, Password: sambaad.Users["bob"]}),
		tp.StartClient(t, ClientOptions{Name: "wrong-password", User: "bob", Password: wrongPassword, ExpectFail: true}),
		tp.StartClient(t, ClientOptions{Name: "locked", User: "dave", Password: sambaad.Users["dave"], ExpectFail: true}),
	}

	t.Run("AD user connects, pings both ways", func(t *testing.T) {
		if !alice.WaitUp(3 * time.Minute) {
			r := alice.Wait()
			t.Fatalf("alice did not come up: %s\n%s", r, r.Log)
		}
		var mine []adminSession
		g.get(t, "/v1/sessions?user=alice", &mine)
		if len(mine) != 1 || !mine[0].Established || mine[0].MPPEBits != 128 || mine[0].MPPEMode != "stateless" {
			t.Fatalf("alice's sessions %+v: want one, established, 128-bit stateless MPPE", mine)
		}
		out, err := tp.Exec(tp.LanNS, "ping", "-c", "3", "-i", "0.2", "-W", "5", mine[0].Address).CombinedOutput()
		if err != nil || strings.Contains(string(out), " 0 received") {
			t.Errorf("LAN host pinging alice at %s: %v\n%s", mine[0].Address, err, out)
		}
		r := alice.Wait()
		t.Logf("%s", r)
		if r.Auth != "ok" || r.AuthProto != "mschapv2" || r.MPPEBits != 128 || !r.Stateless {
			t.Errorf("alice: %s, want MS-CHAPv2 and 128-bit stateless MPPE\n%s", r, r.Log)
		}
		if r.LocalIP.String() != mine[0].Address || !netip.MustParsePrefix("192.0.2.0/24").Contains(r.LocalIP) {
			t.Errorf("alice: local address %v, the server gave %s", r.LocalIP, mine[0].Address)
		}
		if r.PingTx != 5 || r.PingRx == 0 {
			t.Errorf("alice: %d of %d pings to the LAN host answered\n%s", r.PingRx, r.PingTx, r.Log)
		}
	})
	var rs []Result
	for _, c := range others {
		r := c.Wait()
		if r.Err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, r.Err, r.Log)
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		t.Logf("%s", r)
	}

	t.Run("domain prefix", func(t *testing.T) {
		if r := rs[0]; r.Auth != "ok" || r.MPPEBits != 128 || !r.Stateless {
			t.Errorf(`EXAMPLE\bob: %s, want MS-CHAPv2 and 128-bit stateless MPPE`+"\n%s", r, r.Log)
		}
	})
	g.waitIdle(t, 30*time.Second)

	// The gateway's "login refused" lines and its event index, by user.
	refused := map[string]map[string]any{}
	for _, e := range g.log.Entries("login refused") {
		u, _ := e["user"].(string)
		refused[u] = e
	}
	type event struct{ Result, User, Branch, Reason string }
	events := func(user string) []event {
		var evs []event
		g.get(t, "/v1/events?kind=login&user="+user, &evs)
		return evs
	}

	for _, u := range []string{"bob", "dave"} {
		t.Logf("%s: login refused %v; events %+v", u, refused[u], events(u))
	}

	t.Run("wrong password", func(t *testing.T) {
		r := rs[1]
		if r.Connected || r.Auth != "fail" || r.Reason != "auth_failed" || !strings.Contains(r.Log, "E=691") {
			t.Errorf("bob with a wrong password: %s, want auth_failed and E=691 in pppd's log\n%s", r, r.Log)
		}
		e := refused["bob"]
		if c, _ := e["cause"].(string); !strings.Contains(c, "wrong password") || e["code"] != float64(691) {
			t.Errorf("bob's \"login refused\" entry %v: want \"wrong password\" and code 691\n%s", e, g.log)
		}
		evs := events("bob")
		found := false
		for _, ev := range evs {
			found = found || ev.Result == "refused" && strings.Contains(ev.Reason, "wrong password")
		}
		if !found {
			t.Errorf("/v1/events?kind=login&user=bob: %+v; want a refusal for a wrong password", evs)
		}
	})

	t.Run("locked account", func(t *testing.T) {
		r := rs[2]
		if r.Connected || r.Auth != "fail" || !strings.Contains(r.Log, "E=647") {
			t.Errorf("locked dave: %s, want auth_failed and E=647 in pppd's log\n%s", r, r.Log)
		}
		e := refused["dave"]
		if c, _ := e["cause"].(string); !strings.Contains(c, "account locked") || e["code"] != float64(647) {
			t.Errorf("dave's \"login refused\" entry %v: want \"account locked\" and code 647\n%s", e, g.log)
		}
		evs := events("dave")
		if len(evs) != 1 || evs[0].Result != "refused" || !strings.Contains(evs[0].Reason, "account locked") {
			t.Errorf("/v1/events?kind=login&user=dave: %+v; want one refusal, account locked", evs)
		}
	})

	t.Run("PAP over the RADIUS front door", func(t *testing.T) {
		pap := func(user, password string) string {
			cmd := tp.Exec(tp.GatewayNS, "radclient", "-x", "-r", "1", "-t", "20", "127.0.0.1:1812", "auth", "nas-secret-ad-0x1812")
			cmd.Stdin = strings.NewReader(fmt.Sprintf("User-Name = %q\nUser-Password = %q\nMessage-Authenticator = 0x00\n", user, password))
			out, _ := cmd.CombinedOutput()
			return string(out)
		}
		if out := pap("alice", sambaad.Users["alice"]); !strings.Contains(out, "Received Access-Accept") {
			t.Errorf("PAP as alice with her AD password: want Access-Accept\n%s", out)
		}
		if out := pap("alice", wrongPassword); !strings.Contains(out, "Received Access-Reject") {
			t.Errorf("PAP as alice with a wrong password: want Access-Reject\n%s", out)
		}
	})

	accepted := map[string]string{}
	for _, e := range g.log.Entries("login accepted") {
		u, _ := e["user"].(string)
		b, _ := e["branch"].(string)
		accepted[u] = b
	}
	if len(accepted) != 2 || accepted["alice"] != "DirectoryService" || accepted[`EXAMPLE\bob`] != "DirectoryService" {
		t.Errorf("logins accepted (user: branch) %v; want alice and EXAMPLE\\bob by DirectoryService (PPTP)", accepted)
	}
	l := g.log.String()
	for _, secret := range []string{sambaad.Users["alice"], sambaad.Users["bob"], sambaad.Users["dave"], wrongPassword, dc.BindPassword} {
		if strings.Contains(l, secret) {
			t.Errorf("the gateway's log holds %q", secret)
		}
	}
}
