// Package archtest keeps the architecture honest: imports point one way.
//
//   - server/... never imports plugins/..., gRPC or go-plugin: the PPTP
//     front door talks to back-ends only through authpolicy's interfaces.
//   - authpolicy/... never imports server/... or plugins/...: the policy
//     engine does not know that PPTP or plugin processes exist.
//   - plugins/sdk never imports server/...: vendors build against the SDK
//     alone.
//   - plugins/internal/... (the plugin channel, its frames, the version 1
//     relay) imports neither server/... nor authpolicy/...: the transport
//     knows messages, not what they decide; the host and the SDK, on
//     either side of it, do.
//   - plugins/... never imports server/...: a back-end process is built
//     from the SDK and the shared libraries, not from the gateway.
//   - internal/... (the libraries both sides share: the store and its
//     seal, the RADIUS client and the RFC 2548/3579 codecs) imports
//     neither server/... nor plugins/... nor cmd/...: shared code has no
//     back-edge into either of its users.
//
// The rules are checked with "go list -deps", so an indirect import counts.
//
// Codec purity is checked on direct imports (fmt imports os, so -deps
// would flag everything): the wire codecs (server/pptp, server/gre,
// server/ppp/..., server/mppe) and the RADIUS codecs import no net, os or
// log/slog themselves. A codec turns bytes
// into values and back; the I/O, clocks and logging live in the packages
// that drive it (server/control, server/session, server/gateway).
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/gatehouse-vpn/gatehouse"

type rule struct {
	from      string   // package pattern, relative to the module
	forbidden []string // import path prefixes
}

var rules = []rule{
	{"./server/...", []string{module + "/plugins", "google.golang.org/grpc", "github.com/hashicorp/go-plugin"}},
	{"./authpolicy/...", []string{module + "/server", module + "/plugins", module + "/cmd", "google.golang.org/grpc", "github.com/hashicorp/go-plugin"}},
	{"./plugins/sdk/...", []string{module + "/server", module + "/cmd"}},
	{"./plugins/internal/...", []string{module + "/server", module + "/authpolicy", module + "/cmd"}},
	{"./plugins/...", []string{module + "/server", module + "/cmd"}},
	{"./internal/...", []string{module + "/server", module + "/plugins", module + "/cmd"}},
}

// codecs must stay pure: no package among them imports one of impure.
// Test helpers (…test) are exempt: they start processes and listen.
var (
	codecs = []string{"./server/pptp/...", "./server/gre/...", "./server/ppp/...", "./server/mppe/...",
		"./internal/radius/rfc2548/...", "./internal/radius/rfc3579/..."}
	impure = []string{"net", "os", "log/slog", "log", "os/exec", "syscall"}
)

func TestCodecPurity(t *testing.T) {
	for _, pattern := range codecs {
		for _, pkg := range goList(t, pattern) {
			if strings.HasSuffix(pkg, "test") {
				continue
			}
			if bad := impureImports(t, pkg); len(bad) > 0 {
				t.Errorf("%s (a codec) imports %v: codecs do no I/O and no logging", pkg, bad)
			}
		}
	}
}

// TestPurityCatchesViolation proves the purity check can fail: the
// gateway imports net.
func TestPurityCatchesViolation(t *testing.T) {
	if bad := impureImports(t, module+"/server/gateway"); len(bad) == 0 {
		t.Fatal("server/gateway reported pure; the check cannot see imports")
	}
}

func impureImports(t *testing.T, pkg string) []string {
	var bad []string
	for _, imp := range goList(t, "-f", "{{join .Imports \" \"}}", pkg) {
		for _, f := range impure {
			if imp == f {
				bad = append(bad, imp)
			}
		}
	}
	return bad
}

func TestImportDirection(t *testing.T) {
	for _, r := range rules {
		t.Run(r.from, func(t *testing.T) {
			pkgs := goList(t, r.from)
			if len(pkgs) == 0 {
				t.Logf("no packages match %s yet", r.from)
				return
			}
			for _, pkg := range pkgs {
				for _, dep := range goList(t, "-deps", pkg) {
					for _, f := range r.forbidden {
						if dep == f || strings.HasPrefix(dep, f+"/") {
							t.Errorf("%s imports %s (directly or not); the rule for %s forbids %s", pkg, dep, r.from, f)
						}
					}
				}
			}
		})
	}
}

// TestRuleCatchesViolation proves the check can fail: authpolicy/memory is
// allowed to import authpolicy, so asking the same question the other way
// round must find it.
func TestRuleCatchesViolation(t *testing.T) {
	deps := goList(t, "-deps", module+"/authpolicy/memory")
	found := false
	for _, d := range deps {
		found = found || d == module+"/authpolicy"
	}
	if !found {
		t.Fatalf("go list -deps did not report authpolicy as a dependency of authpolicy/memory: %v", deps)
	}
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-e"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			// "matched no packages" is fine for a tree not yet grown.
			if strings.Contains(string(ee.Stderr), "matched no packages") {
				return nil
			}
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}
