package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
	"github.com/gatehouse-vpn/gatehouse/test/radiuspeer"
	"github.com/gatehouse-vpn/gatehouse/test/radload"
)

// TestRADIUSSideBySide measures Gatehouse's RADIUS front door (policy
// "Password": the local store through the built-in local plugin process)
// and FreeRADIUS (users file, Cleartext-Password) on this machine, with the
// same users and the same load (test/radload: closed-loop workers, fresh
// requests). It runs only when GATEHOUSE_RADIUS_BENCH is set:
//
//	GATEHOUSE_RADIUS_BENCH=1 go test -run TestRADIUSSideBySide -v ./cmd/gatehouse/
//
// RADLOAD_REQUESTS (default 20000) and RADLOAD_PARALLEL (default 32) size
// each run.
func TestRADIUSSideBySide(t *testing.T) {
	if os.Getenv("GATEHOUSE_RADIUS_BENCH") == "" {
		t.Skip("benchmark: set GATEHOUSE_RADIUS_BENCH=1 to run")
	}
	requests, parallel := envInt("RADLOAD_REQUESTS", 20000), envInt("RADLOAD_PARALLEL", 32)
	users := map[string]string{"alice": "password", "bob": "bobpass", "load1": "loadpass", "load2": "loadpass"}
	names := []string{"alice", "bob", "load1", "load2"}

	var peerUsers []radiuspeer.User
	for _, n := range names {
		peerUsers = append(peerUsers, radiuspeer.User{Name: n, Password: users[n]})
	}
	fr := radiuspeer.Start(t, radiuspeer.Options{Users: peerUsers, NoAuthDetail: true})

	dir := worldDir(t)
	path := filepath.Join(dir, "gatehouse.yaml")
	text := "state_dir: ./state\nadmin: {listen: \"\"}\nbackends:\n  Password: {type: local}\nservices:\n  pptp: {policy: Password}\npptp: {enabled: false}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, ps, err := config.Load(path)
	if err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("config: %v %v", err, ps)
	}
	for _, n := range names {
		var out, errb bytes.Buffer
		if code := run([]string{"user", "add", n, "--password-stdin", "--config", path}, strings.NewReader(users[n]+"\n"), &out, &errb); code != 0 {
			t.Fatalf("user add %s: %s%s", n, out.String(), errb.String())
		}
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil)) // the front door logs every login, as in production
	engine, bs, err := buildEngine(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer bs.close()
	gh, ghSecret, _ := frontDoor(t, cfg, engine, "127.0.0.0/8", log)

	var pap, chap []radload.Login
	for _, n := range names {
		pap = append(pap, radload.Login{User: n, Password: users[n]})
		var auth, peer [16]byte
		_, _ = rand.Read(auth[:])
		_, _ = rand.Read(peer[:])
		nt := mschapv2.GenerateNTResponse(auth, peer, n, mschapv2.NTHash(users[n]))
		resp := append(append(append([]byte{1, 0}, peer[:]...), make([]byte, 8)...), nt[:]...)
		chap = append(chap, radload.Login{User: n, MSCHAPv2: &[2][]byte{auth[:], resp}})
	}
	// The same front door with the in-process memory back-end: the front
	// door's and the engine's own cost, without plugin processes.
	mem := &config.Config{}
	*mem = *cfg
	memPath := filepath.Join(dir, "memory.yaml")
	var memUsers strings.Builder
	for _, n := range names {
		fmt.Fprintf(&memUsers, "      %s: [%q]\n", n, users[n])
	}
	memText := "state_dir: ./state\nadmin: {listen: \"\"}\nbackends:\n  Password:\n    type: memory\n    users:\n" + memUsers.String() + "services:\n  pptp: {policy: Password}\npptp: {enabled: false}\n"
	if err := os.WriteFile(memPath, []byte(memText), 0o644); err != nil {
		t.Fatal(err)
	}
	if mem, ps, err = config.Load(memPath); err != nil || len(ps.Errors()) > 0 {
		t.Fatalf("memory config: %v %v", err, ps)
	}
	memEngine, memBs, err := buildEngine(context.Background(), mem, log)
	if err != nil {
		t.Fatal(err)
	}
	defer memBs.close()
	ghMem, ghMemSecret, _ := frontDoor(t, mem, memEngine, "127.0.0.0/8", log)

	type target struct {
		name, addr string
		secret     []byte
	}
	targets := []target{
		{"FreeRADIUS (users file)", fr.AuthAddr, []byte(fr.Secret)},
		{"Gatehouse (local store, plugin process)", gh, []byte(ghSecret)},
		{"Gatehouse (memory back-end)", ghMem, []byte(ghMemSecret)},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "%d in parallel; req/s, p99, and ratio to FreeRADIUS\n\n| requests | server | requests sent | req/s | p99 | lost | / FreeRADIUS |\n|---|---|---:|---:|---:|---:|---:|\n", parallel)
	for _, kind := range []struct {
		name   string
		logins []radload.Login
	}{{"PAP", pap}, {"MS-CHAPv2", chap}} {
		var base float64
		for i, tg := range targets {
			n := requests
			// Warm up, then measure.
			if _, err := radload.Run(context.Background(), radload.Config{Addr: tg.addr, Secret: tg.secret, Logins: kind.logins, Requests: min(n, 200), Parallel: parallel}); err != nil {
				t.Fatal(err)
			}
			r, err := radload.Run(context.Background(), radload.Config{Addr: tg.addr, Secret: tg.secret, Logins: kind.logins, Requests: n, Parallel: parallel, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s %s: %s", kind.name, tg.name, r)
			if r.Accepts == 0 {
				t.Errorf("%s %s: nothing accepted: %s", kind.name, tg.name, r)
			}
			if i == 0 {
				base = r.RPS()
			}
			fmt.Fprintf(&table, "| %s | %s | %d | %.0f | %v | %d | %.3g |\n", kind.name, tg.name, r.Requests,
				r.RPS(), r.P99.Round(100*time.Microsecond), r.Lost+r.Rejects, r.RPS()/base)
		}
	}
	t.Logf("\n%s", table.String())
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
