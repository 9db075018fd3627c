package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gateway/gatewaytest"
	"github.com/gatehouse-vpn/gatehouse/test/pptpload"
)

// TestLoadMeasurements is the opt-in measurement of the whole gateway
// (docs/performance.md, "The whole gateway under load"):
//
//	GATEHOUSE_LOAD=1 go test -count=1 -run TestLoadMeasurements -v -timeout 30m ./cmd/gatehouse-load/
//
// In a fresh network namespace, against "gatehouse serve" with the local
// store (policy Password):
//
//   - set-ups: 100, 1,000 and 10,000 sessions (GATEHOUSE_LOAD_SESSIONS
//     overrides the list), 100 calls per control connection from 4 source
//     addresses, as fast as 256 set-ups in flight allow, each on a fresh
//     serve; then the sessions idle for GATEHOUSE_LOAD_HOLD (default 35s,
//     longer than the LCP echo interval: echoes are answered), and the
//     server's RSS and goroutines with them all idle;
//   - throughput: 1400-octet packets through 4 sessions, MPPE-128
//     stateless and stateful, up, down and both, each beside the plain
//     TUN echo limit of the same direction (mode tun-echo) measured just
//     before it, both as fast as the tool sends (packets/s received: the
//     limit); then paced at pacedPPS each way, to see what is lost, and
//     where.
//
// Nothing is asserted about speed; it fails only if the runs fail.
func TestLoadMeasurements(t *testing.T) {
	if os.Getenv("GATEHOUSE_LOAD") == "" {
		t.Skip("opt-in: GATEHOUSE_LOAD=1 runs the load measurements (minutes)")
	}
	if !gatewaytest.InNetns(t) {
		return
	}
	sizes := []int{100, 1000, 10000}
	if s := os.Getenv("GATEHOUSE_LOAD_SESSIONS"); s != "" {
		sizes = nil
		for f := range strings.SplitSeq(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("GATEHOUSE_LOAD_SESSIONS: %v", err)
			}
			sizes = append(sizes, n)
		}
	}
	hold := "35s"
	if h := os.Getenv("GATEHOUSE_LOAD_HOLD"); h != "" {
		hold = h
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| sessions | set-ups/s | p50 ms | p99 ms | failures | alive after hold | control echoes answered | server RSS idle MiB | RSS/session KiB | goroutines | goroutines/session | gateway GRE socket drops |\n")
	fmt.Fprintf(&table, "| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, n := range sizes {
		g := newGateway(t, n, "  echo_interval: 10s", "  echo_timeout: 30s")
		r := runLoad(t, g, "-sessions", strconv.Itoa(n), "-calls-per-conn", "100",
			"-sources", "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5", "-hold", hold)
		drops := greDrops(t, "0100007F")
		g.stop(t)
		if r.ServerIdle == nil || r.PerSession == nil || r.Hold == nil {
			t.Fatalf("%d sessions: incomplete report %+v", n, r)
		}
		fmt.Fprintf(&table, "| %d | %.0f | %.0f | %.0f | %v | %d | %d | %.1f | %.1f | %.0f | %.2f | %d |\n", n, r.SetupsPerSecond,
			r.SetupLatency.P50, r.SetupLatency.P99, r.Failures, r.Hold.Alive, r.Hold.ControlEchoesAnswered,
			r.ServerIdle.RSSBytes/(1<<20), r.PerSession.RSSBytes/1024, r.ServerIdle.Goroutines, r.PerSession.Goroutines, drops)
	}

	g := newGateway(t, 100)
	defer g.stop(t)
	fmt.Fprintf(&table, "\n| MPPE-128 | direction | plain TUN echo, packets/s | gateway, packets/s | Mbit/s | fraction | gateway CPU µs/packet | packets/s per gateway core | per core, fraction | paced at %d/s each way: lost | of which in the gateway's GRE socket | in its TUN queue |\n", pacedPPS)
	fmt.Fprintf(&table, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, mode := range []string{"stateless", "stateful"} {
		for _, dir := range []string{"up", "down", "both"} {
			echo := flowSum(runLoad(t, g, "-mode", "tun-echo", "-direction", dir, "-duration", "5s").Traffic)
			ft := gatewayTraffic(t, g, mode, dir, 0).Traffic
			flood := flowSum(ft)
			before, tunBefore := greDrops(t, "0100007F"), tunDrops(t, "ghload0")
			paced := flowSum(gatewayTraffic(t, g, mode, dir, pacedPPS).Traffic)
			fmt.Fprintf(&table, "| %s | %s | %.0f | %.0f | %.0f | %.2f | %.1f | %.0f | %.2f | %.1f%% | %d of %d | %d |\n", mode, dir, echo.PPS,
				flood.PPS, flood.Mbps, flood.PPS/echo.PPS, ft.ServerCPUPerPacket, ft.ServerPPSPerCore, ft.ServerPPSPerCore/echo.PPS,
				100*float64(paced.Dropped)/float64(max(paced.Sent, 1)),
				greDrops(t, "0100007F")-before, paced.Dropped, tunDrops(t, "ghload0")-tunBefore)
		}
	}
	t.Log(table.String())
}

// pacedPPS is the rate of the paced throughput runs, each way: well
// under every limit measured, an everyday load.
const pacedPPS = 5000

// gatewayTraffic sends 1400-octet packets through 4 sessions for 3
// seconds at pps packets a second each way (0: as fast as the tool
// goes).
func gatewayTraffic(t *testing.T, g *gateway, mode, dir string, pps float64) *pptpload.Report {
	t.Helper()
	r := runLoad(t, g, "-sessions", "4", "-sources", "127.0.0.2", "-mppe", mode, "-direction", dir,
		"-duration", "3s", "-pps", strconv.FormatFloat(pps, 'f', 0, 64))
	if r.Established != 4 || r.Traffic == nil {
		t.Fatalf("%s %s: %d sessions, traffic %+v", mode, dir, r.Established, r.Traffic)
	}
	return r
}

// greDrops sums the drops column of /proc/net/raw for the raw GRE
// sockets bound to local (hexadecimal, as the file shows it: 0100007F is
// 127.0.0.1): packets the kernel dropped because the socket's receive
// buffer was full.
func greDrops(t *testing.T, local string) int {
	b, err := os.ReadFile("/proc/net/raw")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 12 && f[1] == local+":002F" {
			n, _ := strconv.Atoi(f[len(f)-1])
			total += n
		}
	}
	return total
}

// tunDrops is the TX dropped counter of the TUN device dev: packets
// for the clients that the kernel routed to the gateway's TUN device
// while its queue (txqueuelen) was full.
func tunDrops(t *testing.T, dev string) int {
	b, err := os.ReadFile("/sys/class/net/" + dev + "/statistics/tx_dropped")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// flowSum adds a run's directions together.
func flowSum(tr *pptpload.TrafficReport) pptpload.Flow {
	var f pptpload.Flow
	for _, d := range []*pptpload.Flow{tr.Up, tr.Down} {
		if d != nil {
			f.Sent += d.Sent
			f.Received += d.Received
			f.Dropped += d.Dropped
			f.PPS += d.PPS
			f.Mbps += d.Mbps
		}
	}
	return f
}

// runLoad runs gatehouse-load against g with -json and args, and returns
// its report; the run's progress lines go to the test log.
func runLoad(t *testing.T, g *gateway, args ...string) *pptpload.Report {
	t.Helper()
	args = append([]string{"-json", "-server", "127.0.0.1", "-user", "load", "-password", "smoke pass",
		"-server-pid", strconv.Itoa(g.pid()), "-metrics", g.metrics}, args...)
	cmd := exec.Command(g.load, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gatehouse-load %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	var r pptpload.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	t.Logf("gatehouse-load %s\n%s", strings.Join(args, " "), lastLines(stderr.String(), 3))
	var text strings.Builder
	r.WriteText(&text)
	t.Log(text.String())
	return &r
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
