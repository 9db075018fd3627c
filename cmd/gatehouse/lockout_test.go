package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
)

// TestServeLockout: FreeRADIUS's radclient guesses alice's password at the
// RADIUS front door; after lockout.threshold wrong ones the right password
// is refused too, the lockout survives a restart, and "gatehouse user
// unlock" ends it while the gateway runs.
func TestServeLockout(t *testing.T) {
	port := radiuspeer.FreePorts(t, 1)[0]
	_, path := writeServeConfig(t, fmt.Sprintf(`state_dir: ./state
admin: {listen: ""}
backends:
  Demo: {type: memory, users: {alice: [open-sesame], bob: [bobs-secret]}}
services:
  radius: {policy: Demo, strip_domain: true}
pptp: {enabled: false}
radius_server:
  enabled: true
  listen: 127.0.0.1:%d
  clients:
    - {prefix: 127.0.0.0/8, secret_file: nas.secret}
lockout: {threshold: 3, window: 1m, duration: 1h}
`, port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := func() (stop func() string) {
		logs, stop := startServe(t, path)
		waitFor(t, logs, `"msg":"RADIUS front door started","addr":"`)
		return stop
	}
	login := func(user, pw string) string {
		out := runRadclient(t, addr, "nas-secret", fmt.Sprintf("User-Name = %q, User-Password = %q, Message-Authenticator = 0x00\n", user, pw))
		switch {
		case strings.Contains(out, "Received Access-Accept"):
			return "accept"
		case strings.Contains(out, "Received Access-Reject"):
			return "reject"
		}
		t.Fatalf("radclient got no answer:\n%s", out)
		return ""
	}

	stop := start()
	if got := login("alice", "open-sesame"); got != "accept" {
		t.Fatalf("right password before any guess: %s", got)
	}
	// The domain is stripped before counting: CORP\alice is alice.
	for _, u := range []string{`CORP\alice`, "alice@corp.example", "alice"} {
		if got := login(u, "guess"); got != "reject" {
			t.Fatalf("wrong password as %s: %s", u, got)
		}
	}
	if got := login("alice", "open-sesame"); got != "reject" {
		t.Fatalf("right password after 3 wrong ones: %s; want reject (locked out)", got)
	}
	if got := login("bob", "bobs-secret"); got != "accept" {
		t.Fatalf("another user is refused: %s", got)
	}
	logs := stop()
	for _, want := range []string{`"msg":"user locked out"`, `"user":"alice"`, `is locked out until`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}

	stop = start()
	if got := login("alice", "open-sesame"); got != "reject" {
		t.Fatalf("after a restart: %s; want the lockout kept", got)
	}
	// alice is a memory back-end user, not in the store: unlock works for
	// any name.
	if code, out, errOut := gh(t, "", "user", "unlock", "alice", "--config", path); code != 0 || !strings.Contains(out, "user alice unlocked") {
		t.Fatalf("user unlock: %d %s %s", code, out, errOut)
	}
	deadline := time.Now().Add(10 * time.Second)
	for login("alice", "open-sesame") != "accept" {
		if time.Now().After(deadline) {
			t.Fatal("the running gateway did not notice the unlock")
		}
		time.Sleep(200 * time.Millisecond)
	}
	logs = stop()
	if !strings.Contains(logs, `"msg":"lockouts reloaded: an operator unlocked a user, or another gateway sharing the store locked one"`) {
		t.Errorf("logs lack the reload of the lockouts:\n%s", logs)
	}
	if strings.Contains(logs, "open-sesame") {
		t.Error("a password appears in the logs")
	}
}
