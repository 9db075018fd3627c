package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeServeConfig writes a NAS secret file (nas.secret, "nas-secret")
// and text as gatehouse.yaml into a new directory, and returns the
// configuration's path.
func writeServeConfig(t *testing.T, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "nas.secret"), []byte("nas-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

// startServe runs "gatehouse serve" on path in-process; stop ends it,
// fails the test if it did not end cleanly, and returns its log.
func startServe(t *testing.T, path string) (logs *syncBuffer, stop func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serve(ctx, path, logs) }()
	stopped := false
	stop = func() string {
		t.Helper()
		if !stopped {
			stopped = true
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-time.After(10 * time.Second):
				t.Error("serve did not stop")
			}
		}
		return logs.String()
	}
	t.Cleanup(func() { stop() })
	return logs, stop
}
