package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/gateway/gatewaytest"
	"github.com/gatehouse-vpn/gatehouse/test/pptpload"
)

// TestSmokeAgainstServe builds gatehouse and gatehouse-load, runs
// "gatehouse serve" (local store, policy Password) in a fresh network
// namespace, and runs the load generator against it: 20 sessions, 5 calls
// per control connection, from 2 source addresses, with MPPE-128
// stateless and then stateful, 1,000 UDP packets a second each way for a
// second. Every session must come up, and every packet arrive.
func TestSmokeAgainstServe(t *testing.T) {
	if !gatewaytest.InNetns(t) {
		return
	}
	g := newGateway(t, 100)
	defer g.stop(t)
	load := g.load

	for _, mode := range []string{"stateless", "stateful"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(load, "-json", "-quiet", "-server", "127.0.0.1", "-sources", "127.0.0.2,127.0.0.3",
				"-sessions", "20", "-calls-per-conn", "5", "-rate", "200", "-user", "load", "-password", "smoke pass",
				"-mppe", mode, "-duration", "1s", "-pps", "1000", "-direction", "both",
				"-server-pid", strconv.Itoa(g.pid()), "-metrics", g.metrics)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("gatehouse-load: %v\n%s%s", err, out, stderr.String())
			}
			t.Logf("report:\n%s", out)
			var r pptpload.Report
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatal(err)
			}
			if r.Established != 20 || len(r.Failures) != 0 {
				t.Errorf("%d of 20 sessions set up, failures %v", r.Established, r.Failures)
			}
			if r.MPPESend != mode || r.MPPERecv != mode {
				t.Errorf("MPPE send %s receive %s, want %s both ways", r.MPPESend, r.MPPERecv, mode)
			}
			if r.SetupLatency.P50 <= 0 || r.SetupLatency.Max < r.SetupLatency.P99 {
				t.Errorf("set-up latency %+v", r.SetupLatency)
			}
			tr := r.Traffic
			if tr == nil || tr.Up == nil || tr.Down == nil {
				t.Fatalf("no traffic both ways in the report: %+v", tr)
			}
			for name, f := range map[string]*pptpload.Flow{"up": tr.Up, "down": tr.Down} {
				if f.Sent < 500 || f.Received != f.Sent {
					t.Errorf("%s: %d sent, %d received; want at least 500, all of them", name, f.Sent, f.Received)
				}
			}
			if r.ServerIdle == nil || r.ServerIdle.RSSBytes == 0 || r.ServerIdle.Goroutines == 0 {
				t.Errorf("no server figures: %+v", r.ServerIdle)
			}
		})
	}
}
