package acct_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
	"github.com/gatehouse-vpn/gatehouse/server/radius/acct"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

func TestFreeRADIUSDetail(t *testing.T) {
	srv := radiuspeer.Start(t, radiuspeer.Options{})
	a := acct.New(acct.Config{
		Servers:         []radclient.Server{{Addr: srv.AcctAddr, Secret: radclient.Secret(srv.Secret)}},
		InterimInterval: 300 * time.Millisecond,
		NASIdentifier:   "gw1",
		NASIPAddress:    netip.MustParseAddr("192.0.2.1"),
	}, nil)
	var mu sync.Mutex
	c := acct.Counters{InputOctets: 1<<32 + 10, OutputOctets: 5 << 32, InputPackets: 7, OutputPackets: 9}
	s := a.Start(acct.Record{
		SessionID: "sess-1", User: "bob", FramedIP: netip.MustParseAddr("10.8.0.2"),
		CallingStation: "203.0.113.7", Class: [][]byte{[]byte("bob-class")}, Authentic: 1,
	}, func() acct.Counters { mu.Lock(); defer mu.Unlock(); return c })
	time.Sleep(700 * time.Millisecond)
	s.Stop(acct.CauseIdleTimeout)
	s.Stop(acct.CauseUserRequest) // ignored
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var stop map[string][]string
	for _, r := range srv.Records() {
		if first(r, "Acct-Session-Id") != "sess-1" {
			continue
		}
		kinds = append(kinds, first(r, "Acct-Status-Type"))
		if first(r, "Acct-Status-Type") == "Stop" {
			stop = r
		}
		for k, want := range map[string]string{
			"User-Name": "bob", "Framed-IP-Address": "10.8.0.2", "Calling-Station-Id": "203.0.113.7",
			"NAS-Identifier": "gw1", "NAS-IP-Address": "192.0.2.1", "Class": "0x626f622d636c617373",
		} {
			if got := first(r, k); got != want {
				t.Errorf("%s: %s = %q, want %q", first(r, "Acct-Status-Type"), k, got, want)
			}
		}
	}
	if len(kinds) < 3 || kinds[0] != "Start" || kinds[len(kinds)-1] != "Stop" || kinds[1] != "Interim-Update" {
		t.Fatalf("records %v, want Start, Interim-Update..., Stop", kinds)
	}
	for k, want := range map[string]string{
		"Acct-Terminate-Cause": "Idle-Timeout", "Acct-Input-Octets": "10", "Acct-Input-Gigawords": "1",
		"Acct-Output-Octets": "0", "Acct-Output-Gigawords": "5", "Acct-Input-Packets": "7", "Acct-Output-Packets": "9",
	} {
		if got := first(stop, k); got != want {
			t.Errorf("Stop: %s = %q, want %q", k, got, want)
		}
	}
}

func first(r map[string][]string, k string) string {
	if len(r[k]) == 0 {
		return ""
	}
	return r[k][0]
}

// TestStopLoggedWhenNoServer: a Stop no server acknowledges is still
// attempted and logged at error level, with its counters.
func TestStopLoggedWhenNoServer(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))
	port := radiuspeer.FreePorts(t, 1)[0]
	a := acct.New(acct.Config{
		Servers: []radclient.Server{{Addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)).String(), Secret: radclient.Secret("x")}},
		Timeout: 50 * time.Millisecond, Retries: -1,
	}, log)
	s := a.Start(acct.Record{SessionID: "lost-1", User: "carol"}, func() acct.Counters { return acct.Counters{InputOctets: 42} })
	s.Stop(acct.CauseLostCarrier)
	<-s.Done()
	mu.Lock()
	defer mu.Unlock()
	out := logs.String()
	if !strings.Contains(out, `"level":"ERROR","msg":"RADIUS accounting not acknowledged","status":"Stop","session":"lost-1"`) ||
		!strings.Contains(out, `"cause":"Lost-Carrier"`) || !strings.Contains(out, `"input_octets":42`) {
		t.Errorf("Stop failure not logged as expected:\n%s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestRecordWithIdentity(t *testing.T) {
	r := acct.Record{SessionID: "s"}.WithIdentity(map[string][]string{"Class": {"bob-class"}, "Framed-IP-Address": {"10.8.0.2"}})
	if len(r.Class) != 1 || string(r.Class[0]) != "bob-class" || r.FramedIP.String() != "10.8.0.2" || r.Authentic != 1 {
		t.Errorf("%+v", r)
	}
	r = acct.Record{FramedIP: netip.MustParseAddr("10.9.0.9")}.WithIdentity(map[string][]string{"Framed-IP-Address": {"10.8.0.2"}})
	if r.FramedIP.String() != "10.9.0.9" || r.Authentic != 2 {
		t.Errorf("%+v", r)
	}
}
