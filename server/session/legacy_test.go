package session

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/lcp"
	"github.com/gatehouse-vpn/gatehouse/server/session/sessiontest"
)

// roundTrip sends one IP packet each way and checks both arrive intact.
func (f *fixture) roundTrip(t *testing.T) {
	t.Helper()
	addr, _ := f.c.Addresses()
	up := ipPacket(100, addr.As4(), [4]byte{8, 8, 8, 8})
	f.c.SendIP(up)
	select {
	case got := <-f.gotIP:
		if !bytes.Equal(got, up) {
			t.Fatalf("delivered %x, want %x", got, up)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no IP packet delivered")
	}
	down := ipPacket(1400, [4]byte{8, 8, 8, 8}, addr.As4())
	f.s.SendIP(down)
	select {
	case got := <-f.c.GotIP:
		if !bytes.Equal(got, down) {
			t.Fatal("client got a different packet")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("client got no IP packet")
	}
}

func TestMSCHAPv1Login(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", func(cfg *Config, c *sessiontest.Client) {
		cfg.LCP.Auth = []lcp.AuthMethod{lcp.MSCHAPv2, lcp.MSCHAPv1}
		c.Insist = lcp.MSCHAPv1
	})
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	if info := f.s.Info(); info.User != "alice" || info.MPPEBits != 128 {
		t.Fatalf("info = %+v", info)
	}
	// Both sides keyed MPPE with the one MS-CHAPv1 start key.
	f.roundTrip(t)
}

// An MS-CHAPv1 login that fails, for a wrong password or for carrying only
// the LAN Manager response, gets the MS-CHAPv1 Failure "E=691 R=0".
func TestMSCHAPv1Refused(t *testing.T) {
	for _, tc := range []struct {
		name, password, cause string
		lmOnly                bool
	}{
		{"wrong password", "battery staple", "authentication rejected", false},
		{"LAN Manager response only", "correct horse", "only a LAN Manager response", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "alice", tc.password, func(cfg *Config, c *sessiontest.Client) {
				cfg.LCP.Auth = []lcp.AuthMethod{lcp.MSCHAPv2, lcp.MSCHAPv1}
				c.Insist = lcp.MSCHAPv1
				c.LMOnly = tc.lmOnly
			})
			if cause := f.waitDone(); !strings.Contains(cause, tc.cause) {
				t.Fatalf("cause %q, want %q", cause, tc.cause)
			}
			if msg := f.c.FailureMessage(); msg != "E=691 R=0" {
				t.Fatalf("client got Failure %q, want E=691 R=0", msg)
			}
		})
	}
}

func TestCHAPMD5Login(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", func(cfg *Config, c *sessiontest.Client) {
		cfg.LCP.Auth = []lcp.AuthMethod{lcp.MSCHAPv2, lcp.CHAPMD5}
		cfg.CCP.Required = false
		c.Insist = lcp.CHAPMD5
	})
	eventually(t, "data phase", func() bool { return f.s.Info().Established && f.c.DataReady() })
	if info := f.s.Info(); info.User != "alice" || info.MPPEBits != 0 {
		t.Fatalf("info = %+v", info)
	}
	f.roundTrip(t) // in the clear: CHAP-MD5 gives no keys
	if n := f.c.Codes(ppp.ProtoCCP, ppp.ConfigureRequest); n != 0 {
		t.Errorf("server sent %d CCP Configure-Requests after CHAP-MD5", n)
	}
}

// CHAP-MD5 with MPPE required cannot make an encrypted session: the login
// is refused after the engine accepts it (the configuration check forbids
// the combination; this is the session's own guard).
func TestCHAPMD5WithMPPERequired(t *testing.T) {
	f := newFixture(t, "alice", "correct horse", func(cfg *Config, c *sessiontest.Client) {
		cfg.LCP.Auth = []lcp.AuthMethod{lcp.MSCHAPv2, lcp.CHAPMD5}
		c.Insist = lcp.CHAPMD5
	})
	cause := f.waitDone()
	if !strings.Contains(cause, "CHAP-MD5 gives no MPPE keys and MPPE is required") {
		t.Fatalf("cause %q", cause)
	}
	if msg := f.c.FailureMessage(); msg != "Access denied" {
		t.Fatalf("client got Failure %q", msg)
	}
	if f.pool.Held() != 0 {
		t.Fatal("address held")
	}
}

// By default the server steers a client that insists on either to
// MS-CHAPv2 and, when it will not move, refuses it naming the setting.
func TestLegacyRefusedByDefault(t *testing.T) {
	for _, m := range []lcp.AuthMethod{lcp.MSCHAPv1, lcp.CHAPMD5} {
		t.Run(m.String(), func(t *testing.T) {
			f := newFixture(t, "alice", "correct horse", func(_ *Config, c *sessiontest.Client) { c.Insist = m })
			cause := f.waitDone()
			if !strings.Contains(cause, "peer insists on "+m.String()) || !strings.Contains(cause, m.Setting()) {
				t.Fatalf("cause %q", cause)
			}
		})
	}
}
