package host_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/testlog"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
)

// pluginPath is the test plugin, built once by TestMain.
var pluginPath string

// TestMain builds internal/testplugin into a directory that the user
// "nobody" can enter, since the host runs plugins as nobody when the tests
// run as root.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-testplugin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pluginPath = filepath.Join(dir, "testplugin")
		cmd := exec.Command("go", "build", "-o", pluginPath, "./internal/testplugin")
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the test plugin:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// skipLoudly skips with a banner on stderr, which "go test" shows even
// without -v.
func skipLoudly(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

const (
	alicePassword = "correct horse"
	bobPassword   = "battery staple"
)

func spec(name string, mods ...func(*host.Spec)) host.Spec {
	s := host.Spec{
		Name:        name,
		Path:        pluginPath,
		Config:      map[string]string{"users": "alice:" + alicePassword + ",bob:" + bobPassword},
		CallTimeout: 5 * time.Second,
	}
	for _, m := range mods {
		m(&s)
	}
	return s
}

// syncBuffer collects log output from many goroutines.
type syncBuffer = testlog.Buffer

// newHost returns a host logging JSON at debug level into a buffer, which
// the test prints when it fails. Cleanup closes the host and checks that
// no goroutine of the host, go-plugin or gRPC is left.
func newHost(t testing.TB) (*host.Host, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := host.New(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	leakCheckOnce(t)
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("host log:\n%s", logs.String())
		}
	})
	return h, logs
}

var leakChecked sync.Map // testing.TB → true

// leakCheckOnce checks for leaks when t ends, after every host it made is
// closed (cleanups run last-registered first).
func leakCheckOnce(t testing.TB) {
	if _, done := leakChecked.LoadOrStore(t, true); done {
		return
	}
	t.Cleanup(func() {
		checkNoLeaks(t)
		leakChecked.Delete(t)
	})
}

// startOne starts one plugin and returns its back-end.
func startOne(t testing.TB, s host.Spec) (*host.Host, authpolicy.Backend, *syncBuffer) {
	t.Helper()
	h, logs := newHost(t)
	if err := h.Start(context.Background(), s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	b, ok := h.Backend(s.Name)
	if !ok {
		t.Fatalf("Backend(%q) not found", s.Name)
	}
	return h, b, logs
}

func statusOf(t testing.TB, h *host.Host, name string) host.Status {
	t.Helper()
	for _, s := range h.Status() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no status for %s", name)
	return host.Status{}
}

// leakMarkers find the goroutines the host is responsible for.
var leakMarkers = []string{"gatehouse/plugins/host.", "hashicorp/go-plugin", "google.golang.org/grpc"}

// checkNoLeaks waits for the host's goroutines (supervisors, go-plugin's
// readers, gRPC's transports) to end after Close.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	var leaked []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		leaked = leakedGoroutines()
		if len(leaked) == 0 {
			return
		}
	}
	t.Errorf("%d goroutines left after Close:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
}

func leakedGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leakedGoroutines") {
			continue
		}
		for _, m := range leakMarkers {
			if strings.Contains(g, m) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}
