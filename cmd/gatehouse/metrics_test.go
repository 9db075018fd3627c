package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
)

// TestMetricsWithPrometheus: a real Prometheus server (Debian's prometheus
// package, started here on loopback with its own storage) scrapes the
// gateway's /metrics with the admin token, and after RADIUS logins the
// test reads the login counters back through Prometheus's query API;
// promtool finds nothing wrong with the exposition.
func TestMetricsWithPrometheus(t *testing.T) {
	promBin, promtool := peerBinary(t, "prometheus", "prometheus"), peerBinary(t, "promtool", "prometheus")
	dir, path := writeServeConfig(t, `state_dir: ./state
admin: {listen: "127.0.0.1:0"}
backends:
  Demo: {type: memory, users: {alice: [open-sesame]}}
services:
  radius: {policy: Demo}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: 127.0.0.1:0
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
lockout: {threshold: 1, window: 1m, duration: 1h}
`)
	logs, _ := startServe(t, path)
	ctx := context.Background()
	admin := waitFor(t, logs, `"msg":"admin listener started","addr":"`)
	radiusAddr := waitFor(t, logs, `"msg":"RADIUS front door started","addr":"`)
	tokenFile := filepath.Join(dir, "state", "admin.token")

	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: radiusAddr, Secret: radclient.Secret("nas-secret")}}, Timeout: time.Second}, nil)
	for _, pw := range []string{"open-sesame", "open-sesame", "wrong"} {
		p := &lr.Packet{}
		rfc2865.UserName_SetString(p, "alice")
		if _, err := c.Exchange(ctx, &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(pw)}); err != nil {
			t.Fatal(err)
		}
	}

	// The exposition itself: token required, and promtool is happy.
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %s, want 401", resp.Status)
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+admin+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`gatehouse_logins_total{branch="Demo",front_door="radius",result="accepted",service="radius"} 2`,
		`gatehouse_logins_total{branch="",front_door="radius",result="rejected",service="radius"} 1`,
		`gatehouse_radius_requests_total{outcome="accept"} 2`,
		`gatehouse_login_duration_seconds_count{front_door="radius",service="radius"} 3`,
		`gatehouse_radius_requests_total{outcome="rate_limited"} 0`,
		`gatehouse_radius_requests_total{outcome="challenge"} 0`,
		`gatehouse_radius_challenges_total{outcome="state_replayed"} 0`,
		"gatehouse_radius_challenges_pending 0\n",
		// threshold 1: the wrong password locked alice out.
		"gatehouse_lockouts_total 1\n",
		"gatehouse_users_locked_out 1\n",
		// The gateway's own store pool (SQLite: 8 connections at most).
		`gatehouse_store_connections_max{driver="sqlite"} 8`,
		`gatehouse_store_errors_total{driver="sqlite",kind="unavailable"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// A real Prometheus scrapes it, with the token.
	promAddr := freeTCPAddr(t)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: gatehouse
    static_configs: [{targets: [%q]}]
    authorization: {type: Bearer, credentials_file: %q}
`, admin, tokenFile)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var plog bytes.Buffer
	prom := exec.Command(promBin, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr)
	prom.Stdout, prom.Stderr = &plog, &plog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", plog.String())
		}
	}()
	query := `gatehouse_logins_total{front_door="radius",result="accepted"}`
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err := promQuery(promAddr, query)
		if err == nil && v == "2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not report %s = 2 within 60s (last: %q, %v)", query, v, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if v, err := promQuery(promAddr, `up{job="gatehouse"}`); err != nil || v != "1" {
		t.Errorf("up{job=gatehouse} = %q, %v", v, err)
	}
}

// promQuery asks Prometheus's HTTP API for an instant vector of one
// element and returns its value.
func promQuery(addr, q string) (string, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return "", err
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return "", fmt.Errorf("status %s, %d results", r.Status, len(r.Data.Result))
	}
	v, _ := r.Data.Result[0].Value[1].(string)
	return v, nil
}

// freeTCPAddr is a loopback address with a port free now.
func freeTCPAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// peerBinary finds a real peer's program from a Debian package: as root
// (CI) its absence fails the test (test/install-deps installs it); else
// the test skips loudly.
func peerBinary(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		t.Fatalf("%s not found: test/install-deps should have installed the Debian package %s", name, pkg)
	}
	skipLoudly(t, "%s not found (apt-get install %s, or run make test as root)", name, pkg)
	return ""
}

// skipLoudly skips with a banner on stderr, which "go test" shows even
// without -v.
func skipLoudly(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}
