package interop

import (
	"strings"
	"testing"
	"time"
)

// TestAgainstPPTPD proves the harness against a PPTP server nobody here
// wrote: Debian's pptpd, in a second VM on the same bridge. Five clients
// run at once:
//
//   - two log in with MS-CHAPv2 and MPPE-128, get addresses from the
//     pool and DNS from IPCP, and ping the LAN host through the gateway
//     (RunClients: two clients at once);
//   - a wrong password fails with Auth "fail";
//   - one holding its link is killed after WaitUp (Kill);
//   - one holding its link with LCP echoes every second is unplugged
//     (Unplug) and gives up on its silent peer.
//
// The password has spaces, quotes and a backslash, so the secrets files
// must quote it right on both sides.
func TestAgainstPPTPD(t *testing.T) {
	tp := Up(t, "selftest")
	const user, password = "alice", `correct "horse" battery\staple`
	srv := tp.StartPPTPD(t, PPTPDOptions{User: user, Password: password})
	defer func() {
		if t.Failed() {
			t.Logf("--- pptpd console\n%s", srv.Log())
		}
	}()

	held := tp.StartClient(t, ClientOptions{Name: "killed", Server: srv.Addr,
		User: user, Password: password, Hold: 5 * time.Minute})
	unplugged := tp.StartClient(t, ClientOptions{Name: "unplugged", Server: srv.Addr,
		User: user, Password: password, Hold: time.Minute,
		PPPDOpts: []string{"lcp-echo-interval 1", "lcp-echo-failure 3"}})

	rs := tp.RunClients(t,
		ClientOptions{Name: "good-1", Server: srv.Addr, User: user, Password: password, Ping: tp.LanHostIP, PingCount: 5},
		ClientOptions{Name: "good-2", Server: srv.Addr, User: user, Password: password, Ping: tp.LanHostIP},
		ClientOptions{Name: "wrong-password", Server: srv.Addr, User: user, Password: "not the password", ExpectFail: true},
	)

	t.Run("MS-CHAPv2 and MPPE-128", func(t *testing.T) {
		seen := map[string]bool{}
		for _, r := range rs[:2] {
			if r.Auth != "ok" || r.AuthProto != "mschapv2" {
				t.Errorf("%s: auth %s/%s, want ok/mschapv2", r.Name, r.Auth, r.AuthProto)
			}
			if r.MPPEBits != 128 || !r.Stateless {
				t.Errorf("%s: MPPE %d bits stateless=%v, want 128 stateless", r.Name, r.MPPEBits, r.Stateless)
			}
			if !TunnelNet.Contains(r.LocalIP) || r.RemoteIP != srv.TunnelIP {
				t.Errorf("%s: addresses %v <-> %v, want a pool address <-> %v", r.Name, r.LocalIP, r.RemoteIP, srv.TunnelIP)
			}
			if seen[r.LocalIP.String()] {
				t.Errorf("%s: address %v given twice", r.Name, r.LocalIP)
			}
			seen[r.LocalIP.String()] = true
			if r.DNS1.String() != "192.0.2.53" || r.DNS2.String() != "192.0.2.54" {
				t.Errorf("%s: DNS %v %v, want 192.0.2.53 192.0.2.54", r.Name, r.DNS1, r.DNS2)
			}
			if r.PingRx == 0 || r.PingRx != r.PingTx {
				t.Errorf("%s: ping %v: %d of %d answered", r.Name, tp.LanHostIP, r.PingRx, r.PingTx)
			}
			if r.Reason != "ok" || r.Disconnect != "local" {
				t.Errorf("%s: reason %s disconnect %s, want ok/local", r.Name, r.Reason, r.Disconnect)
			}
		}
		if rs[0].PingTx != 5 {
			t.Errorf("%s: %d pings sent, want 5", rs[0].Name, rs[0].PingTx)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		r := rs[2]
		if r.Connected || r.Auth != "fail" || r.Reason != "auth_failed" {
			t.Errorf("%s: connected=%v auth=%s reason=%s, want false/fail/auth_failed", r.Name, r.Connected, r.Auth, r.Reason)
		}
		if !strings.Contains(r.Log, "E=691") {
			t.Errorf("%s: no MS-CHAPv2 failure E=691 in the log", r.Name)
		}
	})

	t.Run("kill", func(t *testing.T) {
		if !held.WaitUp(60 * time.Second) {
			r := held.Wait()
			t.Fatalf("%s: link did not come up: %s\n%s", r.Name, r, r.Log)
		}
		held.Kill()
		r := held.Wait()
		if !r.Killed || !r.Connected || r.Reason != "killed" || r.Err != nil {
			t.Errorf("%s: %s; want connected, then killed", r.Name, r)
		}
		if r.Total > 2*time.Minute {
			t.Errorf("%s: the kill took until %v", r.Name, r.Total)
		}
	})

	t.Run("unplug", func(t *testing.T) {
		if !unplugged.WaitUp(60 * time.Second) {
			r := unplugged.Wait()
			t.Fatalf("%s: link did not come up: %s\n%s", r.Name, r, r.Log)
		}
		if err := unplugged.Unplug(); err != nil {
			t.Fatal(err)
		}
		r := unplugged.Wait()
		if !r.Connected || r.Disconnect != "peer" || r.Reason != "peer_not_responding" {
			t.Errorf("%s: %s; want connected, then peer_not_responding\n%s", r.Name, r, r.Log)
		}
		if r.Held > 30*time.Second {
			t.Errorf("%s: held the dead link for %v; lcp-echo-failure 3 at 1 s should end it in seconds", r.Name, r.Held)
		}
	})
}
