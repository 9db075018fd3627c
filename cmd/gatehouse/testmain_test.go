package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the test binary play the gatehouse binary's plugin mode:
// the gateway starts built-in back-ends by re-executing itself with
// "plugin run NAME", and under test "itself" is this binary. It also copies
// the binary where every user can run it: as root, plugins run as
// plugins.user (nobody), who cannot enter go test's private build directory.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "plugin" && os.Args[2] == "run" || os.Getenv(cliEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	dir, err := copySelf()
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliEnv=1 makes the test binary the gatehouse command, for a test that
// runs it as a process of its own (in another mount namespace, say).
const cliEnv = "GATEHOUSE_TEST_CLI"

func copySelf() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "gatehouse-test-bin-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	in, err := os.Open(self)
	if err != nil {
		return "", err
	}
	defer in.Close()
	path := filepath.Join(dir, "gatehouse")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	selfPath = func() (string, error) { return path, nil }
	return dir, nil
}

// worldDir is a temporary directory every user can enter, for state that
// plugins running as nobody must reach.
func worldDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "gatehouse-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
