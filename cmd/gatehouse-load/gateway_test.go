package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// gateway is "gatehouse serve" with PPTP on 127.0.0.1 (policy Password
// over the local store, user "load" with password "smoke pass", call
// rate unlimited, MPPE stateful preferred so that a client may choose
// either mode), run as its own process in the test's network namespace,
// with the gatehouse-load binary beside it.
type gateway struct {
	dir, bin, load, config string
	metrics                string
	cmd                    *exec.Cmd
	log                    bytes.Buffer
}

var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// gatehouseBinEnv names a gatehouse binary to measure instead of
// building ./cmd/gatehouse (its directory must be readable by nobody,
// who runs the plugin).
const gatehouseBinEnv = "GATEHOUSE_LOAD_GATEHOUSE"

// buildBinaries builds gatehouse and gatehouse-load once per test
// process, into a directory the plugin (run as nobody) can read.
func buildBinaries(t *testing.T) string {
	t.Helper()
	b := &binaries
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "gatehouse-load-bin-"); b.err != nil {
			return
		}
		if b.err = os.Chmod(b.dir, 0o755); b.err != nil {
			return
		}
		for name, pkg := range map[string]string{"gatehouse": "../gatehouse", "gatehouse-load": "."} {
			if bin := os.Getenv(gatehouseBinEnv); name == "gatehouse" && bin != "" {
				if b.err = os.Symlink(bin, filepath.Join(b.dir, name)); b.err != nil {
					return
				}
				continue
			}
			if out, err := exec.Command("go", "build", "-o", filepath.Join(b.dir, name), pkg).CombinedOutput(); err != nil {
				b.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dir
}

// newGateway writes a configuration for up to maxSessions sessions, adds
// the user and starts serve; it waits until serve listens.
func newGateway(t *testing.T, maxSessions int, extra ...string) *gateway {
	t.Helper()
	return newGatewayPool(t, maxSessions, maxSessions, extra...)
}

// newGatewayPool is newGateway with a pool of pool addresses and
// pptp.max_connections maxSessions, so that the connection limit may be
// met before the pool runs out.
func newGatewayPool(t *testing.T, pool, maxSessions int, extra ...string) *gateway {
	t.Helper()
	bin := buildBinaries(t)
	dir, err := os.MkdirTemp("", "gatehouse-load-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the plugin runs as nobody and reads the store
		t.Fatal(err)
	}
	g := &gateway{dir: dir, bin: filepath.Join(bin, "gatehouse"), load: filepath.Join(bin, "gatehouse-load"),
		config: filepath.Join(dir, "gatehouse.yaml"), metrics: "http://127.0.0.1:9724/metrics"}
	// The pool: 10.96.0.10 and up, pool addresses (at most 10.96.255.250).
	last := 10 + pool
	// Call rate unlimited, unless an extra line sets it.
	callRate := "  call_rate: 0\n"
	for _, l := range extra {
		if strings.HasPrefix(strings.TrimSpace(l), "call_rate:") {
			callRate = ""
		}
	}
	config := fmt.Sprintf(`state_dir: ./state
admin: {listen: 127.0.0.1:9724, metrics_public: true}
backends:
  Password: {type: local}
services:
  pptp: {policy: Password}
pptp:
  enabled: true
  listen: 127.0.0.1:1723
  interface: ghload0
  pool: {first: 10.96.0.10, last: 10.96.%d.%d}
  local_address: 10.96.0.1
  max_connections: %d
%s  access: {default: on}
  mppe: {stateful: true}
%s`, last/256, last%256, maxSessions, callRate, strings.Join(extra, "\n"))
	if err := os.WriteFile(g.config, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	add := exec.Command(g.bin, "user", "add", "load", "--password-stdin", "--config", g.config)
	add.Stdin = strings.NewReader("smoke pass\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("gatehouse user add: %v\n%s", err, out)
	}
	g.cmd = exec.Command(g.bin, "serve", "--config", g.config)
	g.cmd.Stdout, g.cmd.Stderr = &g.log, &g.log
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", "127.0.0.1:1723"); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			g.stop(t)
			t.Fatalf("gatehouse serve does not listen on 127.0.0.1:1723:\n%s", g.log.String())
		}
	}
	return g
}

func (g *gateway) pid() int { return g.cmd.Process.Pid }

// stop ends serve (SIGTERM) and shows its log if the test failed.
func (g *gateway) stop(t *testing.T) {
	if g.cmd.ProcessState != nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		g.cmd.Process.Kill()
		<-done
	}
	if t.Failed() {
		t.Logf("--- gatehouse serve:\n%s", g.log.String())
	}
}
