package postgres

import (
	"context"
	"strings"
	"testing"
)

// TestServer proves the harness: the app role connects over TLS with
// verify-full, a CA that signed nothing is refused, and a killed server
// comes back on the same port with its data.
func TestServer(t *testing.T) {
	srv := Start(t, Options{NoFsync: true})
	dsn := srv.CreateDatabase(t)
	ctx := context.Background()
	if err := Ping(ctx, dsn); err != nil {
		t.Fatalf("verify-full: %v\n%s", err, srv.Log())
	}
	bad := strings.Replace(dsn, "ca.crt", "other-ca.crt", 1)
	if err := Ping(ctx, bad); err == nil {
		t.Fatal("a CA that signed nothing was accepted")
	}
	noTLS := strings.Replace(dsn, "sslmode=verify-full", "sslmode=disable", 1)
	if err := Ping(ctx, noTLS); err == nil {
		t.Fatal("a connection without TLS was accepted")
	}
	srv.Kill(t)
	if err := Ping(ctx, dsn); err == nil {
		t.Fatal("ping succeeded with the server killed")
	}
	srv.Restart(t)
	if err := Ping(ctx, dsn); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
