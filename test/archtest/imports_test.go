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
//
// The rules are checked with "go list -deps", so an indirect import counts.
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
