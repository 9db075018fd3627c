package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lr "layeh.com/radius"
	"layeh.com/radius/rfc2865"

	"github.com/gatehouse-vpn/gatehouse/internal/radius/radclient"
)

// TestServeRADIUSFrontDoor: "gatehouse serve" with radius_server enabled
// answers Access-Requests from a configured client and logs the decision.
func TestServeRADIUSFrontDoor(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nas.secret"), []byte("nas-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "gatehouse.yaml")
	text := `state_dir: ./state
admin: {listen: ""}
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
`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, path, logs) }()
	addr := waitFor(t, logs, `"msg":"RADIUS front door started","addr":"`)

	c := radclient.New(radclient.Config{Servers: []radclient.Server{{Addr: addr, Secret: radclient.Secret("nas-secret")}}, Timeout: time.Second}, nil)
	for _, tc := range []struct {
		pw   string
		want lr.Code
	}{{"open-sesame", lr.CodeAccessAccept}, {"wrong", lr.CodeAccessReject}} {
		p := &lr.Packet{}
		rfc2865.UserName_SetString(p, "alice")
		resp, err := c.Exchange(ctx, &radclient.Request{Code: lr.CodeAccessRequest, Attributes: p.Attributes, UserPassword: []byte(tc.pw)})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != tc.want {
			t.Errorf("password %q: %v, want %v", tc.pw, resp.Code, tc.want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	out := logs.String()
	for _, want := range []string{`"msg":"RADIUS login accepted","front_door":"radius","user":"alice"`, `"msg":"RADIUS login rejected"`, `"msg":"RADIUS front door stopped"`, `"accepts":1`} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "open-sesame") || strings.Contains(out, "nas-secret") {
		t.Errorf("a secret appears in the logs:\n%s", out)
	}
}
