package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/events"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// TestServeEvents: logins that FreeRADIUS's radclient sends to the RADIUS
// front door land in the event index with each branch's reason;
// "gatehouse logs" finds them by user, kind and result, as a table and as
// JSON; GET /v1/events?follow=1 streams a new one as it happens; a lockout
// is an event. The log goes to log.file, and SIGUSR1 reopens it after
// logrotate (here: a rename) moved it away.
func TestServeEvents(t *testing.T) {
	port := radiuspeer.FreePorts(t, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir, path := writeServeConfig(t, fmt.Sprintf(`state_dir: ./state
log: {file: gatehouse.log, max_size: 0}
admin: {listen: "127.0.0.1:0"}
backends:
  Demo: {type: memory, users: {alice: [open-sesame], bob: [bobs-secret]}}
services:
  radius: {policy: Demo}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: %s
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
lockout: {threshold: 2, window: 1m, duration: 1h}
`, addr))
	logFile := filepath.Join(dir, "state", "gatehouse.log")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, path, os.Stderr) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var admin string
	deadline := time.Now().Add(10 * time.Second)
	for admin == "" {
		b, _ := os.ReadFile(logFile)
		if _, rest, ok := strings.Cut(string(b), `"msg":"admin listener started","addr":"`); ok {
			admin, _, _ = strings.Cut(rest, `"`)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway did not start; log:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	login := func(user, pw string) {
		t.Helper()
		out := runRadclient(t, addr, "nas-secret", fmt.Sprintf("User-Name = %q, User-Password = %q, Message-Authenticator = 0x00\n", user, pw))
		if !strings.Contains(out, "Received Access-") {
			t.Fatalf("radclient got no answer:\n%s", out)
		}
	}
	login("alice", "open-sesame")
	login("bob", "wrong-1")
	login("bob", "wrong-2") // locks bob out

	logs := func(args ...string) string {
		t.Helper()
		var out string
		deadline := time.Now().Add(10 * time.Second) // the index writes behind
		for {
			code, stdout, stderr := gh(t, "", append([]string{"logs", "--config", path, "--admin", admin}, args...)...)
			if code != 0 {
				t.Fatalf("gatehouse logs %v: exit %d %s", args, code, stderr)
			}
			out = stdout
			if strings.Count(out, "\n") > 1 || time.Now().After(deadline) {
				return out
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if out := logs("--user", "alice"); !strings.Contains(out, "login") || !strings.Contains(out, "accepted") || strings.Contains(out, "bob") {
		t.Errorf("logs --user alice:\n%s", out)
	}
	if out := logs("--kind", "login", "--result", "refused", "--since", "1h"); strings.Count(out, "refused") != 2 || strings.Contains(out, "alice") {
		t.Errorf("logs --kind login --result refused:\n%s", out)
	}
	if out := logs("--kind", "lockout"); !strings.Contains(out, "lockout") || !strings.Contains(out, "bob") {
		t.Errorf("logs --kind lockout:\n%s", out)
	}
	var evs []events.Event
	if err := json.Unmarshal([]byte(logs("--user", "bob", "--kind", "login", "--json")), &evs); err != nil || len(evs) != 2 {
		t.Fatalf("logs --json: %v %+v", err, evs)
	}
	if e := evs[0]; e.Result != events.Refused || e.FrontDoor != "radius" || e.Service != "radius" || len(e.Branches) != 1 ||
		e.Branches[0].Branch != "Demo" || e.Branches[0].Outcome != "rejected" || e.Method != "plaintext" {
		t.Errorf("bob's first login event: %+v", e)
	}
	if code, _, stderr := gh(t, "", "logs", "--config", path, "--admin", admin, "--since", "yesterday-ish"); code != 2 || !strings.Contains(stderr, "since") {
		t.Errorf("logs --since yesterday-ish: exit %d %s; want a usage error naming --since", code, stderr)
	}

	// Follow: a login made after the stream opened arrives on it.
	token, err := os.ReadFile(filepath.Join(dir, "state", "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	defer fcancel()
	req, _ := http.NewRequestWithContext(fctx, http.MethodGet, "http://"+admin+"/v1/events?follow=1&kind=login", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	login("alice", "open-sesame")
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		t.Fatalf("the follow stream ended: %v", sc.Err())
	}
	var ev events.Event
	if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.User != "alice" || ev.Result != events.Accepted {
		t.Errorf("followed event %s: %v", sc.Bytes(), err)
	}
	fcancel()

	// logrotate moves the file away and sends SIGUSR1.
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		login("alice", "open-sesame")
		b, _ := os.ReadFile(logFile)
		if strings.Contains(string(b), `"user":"alice"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("after SIGUSR1 the log did not go to a new file")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if b, _ := os.ReadFile(logFile + ".1"); strings.Contains(string(b), "open-sesame") || strings.Contains(string(b), "bobs-secret") {
		t.Error("a password reached the log")
	}
}
