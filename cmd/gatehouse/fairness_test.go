package main

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
	"github.com/gatehouse-vpn/gatehouse/test/radload"
)

// TestRADIUSFairness: one NAS (127.0.0.2) floods the front door with
// signed Access-Requests as fast as it can send them, open loop; another
// NAS (127.0.0.1, FreeRADIUS's radclient, one try of 3 s each) logs in 14 times
// meanwhile. With radius_server.client_rate the flood loses its own
// excess and every one of the other NAS's logins is answered.
func TestRADIUSFairness(t *testing.T) {
	port := radiuspeer.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	_, path := writeServeConfig(t, fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
backends:
  Demo: {type: memory, users: {alice: [open-sesame], flood: [flood-pw]}}
services:
  radius: {policy: Demo}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: %s
  client_rate: 200
  client_burst: 200
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
lockout: {threshold: 0}
`, addr))
	logs, stop := startServe(t, path)
	waitFor(t, logs, `"msg":"RADIUS front door started","addr":"`)

	// The flood: distinct signed requests (no duplicate cache helps),
	// sent without waiting for answers.
	conn, err := net.DialUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.2:0")), net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var sent atomic.Int64
	flooding := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-flooding:
				return
			default:
			}
			b, err := radload.Request(radload.Login{User: "flood", Password: "flood-pw"}, []byte("nas-secret"))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := conn.Write(b); err == nil {
				sent.Add(1)
			}
		}
	}()
	go func() { // drain the answers
		defer wg.Done()
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond) // the flood is on before the first login

	answered := 0
	for i := range 14 {
		out := runRadclient(t, addr, "nas-secret", `User-Name = "alice", User-Password = "open-sesame", Message-Authenticator = 0x00`+"\n")
		if strings.Contains(out, "Received Access-Accept") {
			answered++
		} else {
			t.Logf("login %d got no Access-Accept:\n%s", i+1, out)
		}
	}
	close(flooding)
	conn.Close()
	wg.Wait()
	m := regexp.MustCompile(`"rate_limited":(\d+)`).FindStringSubmatch(stop())
	if m == nil {
		t.Fatalf("no rate_limited count in the stop line:\n%s", logs)
	}
	limited, _ := strconv.Atoi(m[1])
	t.Logf("flood: %d requests sent, %d dropped by the per-NAS limit; the other NAS: %d of 14 logins answered", sent.Load(), limited, answered)
	if answered != 14 {
		t.Errorf("%d of 14 logins from the quiet NAS were answered during the flood, want all", answered)
	}
	if limited == 0 {
		t.Error("nothing was rate limited: the flood did not flood")
	}
}
