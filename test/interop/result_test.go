package interop

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestParseResult reads consoles recorded from real attempts against
// Debian's pptpd (testdata/console, see TestAgainstPPTPD for the setup):
// what a test will see in Result for each kind of outcome.
func TestParseResult(t *testing.T) {
	ip := netip.MustParseAddr
	tests := []struct {
		file string
		want Result
	}{
		{"connected-ping.log", Result{
			Connected: true, Auth: "ok", AuthProto: "mschapv2", MPPEBits: 128, Stateless: true,
			LocalIP: ip("192.0.2.12"), RemoteIP: ip("192.0.2.1"), DNS1: ip("192.0.2.53"), DNS2: ip("192.0.2.54"),
			PingTx: 5, PingRx: 5, Disconnect: "local", BytesSent: 420, BytesRcvd: 420,
			PPPDExit: 16, Reason: "ok", finished: true,
		}},
		{"wrong-password.log", Result{
			Auth: "fail", AuthProto: "mschapv2", Disconnect: "peer",
			PeerTermReason: "Authentication failed", PPPDExit: 19, Reason: "auth_failed", finished: true,
		}},
		// The VM was killed while holding the link: no result line. Wait
		// sets Killed and Reason "killed".
		{"killed.log", Result{
			Connected: true, Auth: "ok", AuthProto: "mschapv2", MPPEBits: 128, Stateless: true,
			LocalIP: ip("192.0.2.11"), RemoteIP: ip("192.0.2.1"), DNS1: ip("192.0.2.53"), DNS2: ip("192.0.2.54"),
			PPPDExit: -1, Reason: "unknown",
		}},
		// Unplugged after the link came up, with lcp-echo-interval 1 and
		// lcp-echo-failure 3.
		{"unplugged.log", Result{
			Connected: true, Auth: "ok", AuthProto: "mschapv2", MPPEBits: 128, Stateless: true,
			LocalIP: ip("192.0.2.10"), RemoteIP: ip("192.0.2.1"), DNS1: ip("192.0.2.53"), DNS2: ip("192.0.2.54"),
			Disconnect: "peer", PPPDExit: 16, Reason: "peer_not_responding", finished: true,
		}},
		// MPPE "none" against a server that requires MPPE-128.
		{"mppe-none-refused.log", Result{
			Auth: "ok", AuthProto: "mschapv2", Disconnect: "peer",
			PeerTermReason: "MPPE required but peer refused", PPPDExit: 16, Reason: "mppe_failed", finished: true,
		}},
		// MPPE "40" against a server that requires MPPE-128: the client
		// gives up itself.
		{"mppe-40-refused.log", Result{
			Auth: "ok", AuthProto: "mschapv2", Disconnect: "peer",
			PeerTermReason: "MPPE required but peer negotiation failed", PPPDExit: 10, Reason: "mppe_failed", finished: true,
		}},
		// Auth "pap" against a server that requires MS-CHAPv2.
		{"pap-refused.log", Result{
			Auth: "unknown", Disconnect: "peer",
			PeerTermReason: "peer refused to authenticate", PPPDExit: 16, Reason: "peer_terminated", finished: true,
		}},
		// Nothing listens on port 1723.
		{"no-server.log", Result{
			Auth: "unknown", Disconnect: "peer", PPPDExit: 16, Reason: "pptp_connect_failed", finished: true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "console", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got := parseResult(string(b))
			got.Log = ""
			// Timings vary from run to run; only their presence is checked.
			if got.Connected && got.ConnectTime <= 0 && got.finished {
				t.Errorf("ConnectTime %v, want > 0", got.ConnectTime)
			}
			if got.PingTx > 0 && got.PingAvg <= 0 {
				t.Errorf("PingAvg %v, want > 0", got.PingAvg)
			}
			got.ConnectTime, got.Held, got.PingAvg = 0, 0, 0
			if got != tt.want {
				t.Errorf("parseResult:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ping := netip.MustParseAddr("203.0.113.2")
	ok := Result{Connected: true, MPPEBits: 128, PingTx: 3, PingRx: 3}
	tests := []struct {
		name string
		o    ClientOptions
		r    Result
		ok   bool
	}{
		{"connected", ClientOptions{Ping: ping}, ok, true},
		{"lost ping", ClientOptions{Ping: ping}, Result{Connected: true, MPPEBits: 128, PingTx: 3, PingRx: 2}, false},
		{"no MPPE", ClientOptions{}, Result{Connected: true}, false},
		{"40 asked, 128 got", ClientOptions{MPPE: "40"}, ok, false},
		{"any", ClientOptions{MPPE: "any"}, Result{Connected: true, MPPEBits: 40}, true},
		{"pap without MPPE", ClientOptions{Auth: "pap"}, Result{Connected: true}, true},
		{"not connected", ClientOptions{}, Result{Reason: "auth_failed"}, false},
		{"expected failure", ClientOptions{ExpectFail: true}, Result{Reason: "auth_failed"}, true},
		{"unexpected success", ClientOptions{ExpectFail: true}, ok, false},
	}
	for _, tt := range tests {
		err := tt.r.Check(tt.o)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestTimeout(t *testing.T) {
	o := ClientOptions{Hold: time.Minute, PingCount: 10, PingInterval: time.Second}
	if got, want := o.timeout(), 120*time.Second+time.Minute+10*time.Second; got != want {
		t.Errorf("timeout = %v, want %v", got, want)
	}
}
