package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionCommandAndFlagAgree checks that "gatehouse version",
// "gatehouse --version" and "gatehouse -v" print the same one line.
func TestVersionCommandAndFlagAgree(t *testing.T) {
	code, want, stderr := gh(t, "", "version")
	if code != 0 {
		t.Fatalf("version: exit %d, stderr %q", code, stderr)
	}
	if want != versionString()+"\n" {
		t.Errorf("version printed %q, want %q", want, versionString()+"\n")
	}
	if !strings.HasPrefix(want, "gatehouse ") || strings.Count(want, "\n") != 1 {
		t.Errorf("version printed %q, want one line starting with \"gatehouse \"", want)
	}
	for _, flag := range []string{"--version", "-v"} {
		code, got, stderr := gh(t, "", flag)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", flag, code, stderr)
		}
		if got != want {
			t.Errorf("%s printed %q, version printed %q", flag, got, want)
		}
	}
}

func TestVersionResolveBuildInfo(t *testing.T) {
	const rev = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d"
	vcs := func(modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.26.8",
			Main:      debug.Module{Path: "github.com/gatehouse-vpn/gatehouse", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: rev},
				{Key: "vcs.time", Value: "2026-12-06T23:00:00Z"},
				{Key: "vcs.modified", Value: modified},
			},
		}
	}
	tagged := vcs("false")
	tagged.Main.Version = "v0.4.0"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name                    string
		ldVersion, ldCommit, ld string
		bi                      *debug.BuildInfo
		want                    BuildInfo
		line                    string
	}{
		{
			name:      "ldflags win",
			ldVersion: "0.4.0", ldCommit: rev, ld: "2026-12-06T23:00:00Z",
			bi:   vcs("true"),
			want: BuildInfo{Version: "0.4.0", Commit: rev, Built: "2026-12-06T23:00:00Z", Go: "go1.26.8"},
			line: "gatehouse 0.4.0 (commit 1a2b3c4d5e6f, built 2026-12-06T23:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name: "clean checkout, plain go build",
			bi:   vcs("false"),
			want: BuildInfo{Version: "dev", Commit: rev, Built: "2026-12-06T23:00:00Z", Go: "go1.26.8"},
			line: "gatehouse dev (commit 1a2b3c4d5e6f, built 2026-12-06T23:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name: "modified checkout",
			bi:   vcs("true"),
			want: BuildInfo{Version: "dev", Commit: rev + "-dirty", Built: "2026-12-06T23:00:00Z", Go: "go1.26.8"},
			line: "gatehouse dev (commit 1a2b3c4d5e6f-dirty, built 2026-12-06T23:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name: "go install module@version",
			bi:   tagged,
			want: BuildInfo{Version: "0.4.0", Commit: rev, Built: "2026-12-06T23:00:00Z", Go: "go1.26.8"},
			line: "gatehouse 0.4.0 (commit 1a2b3c4d5e6f, built 2026-12-06T23:00:00Z, go1.26.8 " + platform + ")",
		},
		{
			name: "nothing known (go test, -buildvcs=false)",
			bi:   &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			want: BuildInfo{Version: "dev", Go: "go1.26.8"},
			line: "gatehouse dev (go1.26.8 " + platform + ")",
		},
		{
			name: "no build information at all",
			want: BuildInfo{Version: "dev", Go: runtime.Version()},
			line: "gatehouse dev (" + runtime.Version() + " " + platform + ")",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolveBuildInfo(tt.ldVersion, tt.ldCommit, tt.ld, tt.bi)
			if got != tt.want {
				t.Errorf("resolveBuildInfo = %+v, want %+v", got, tt.want)
			}
			if line := got.String(); line != tt.line {
				t.Errorf("String() = %q, want %q", line, tt.line)
			}
		})
	}
}

// TestVersionBuildInfoJSON pins the field names the admin API serves.
func TestVersionBuildInfoJSON(t *testing.T) {
	b, err := json.Marshal(BuildInfo{Version: "0.4.0", Commit: "c", Built: "2026-12-06T23:00:00Z", Go: "go1.26.8"})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"version":"0.4.0","commit":"c","built":"2026-12-06T23:00:00Z","go":"go1.26.8"}`
	if string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

// TestVersionStampedBinary builds the binary the way the Makefile does,
// with -ldflags -X, and checks that both forms print the stamped values.
func TestVersionStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not in PATH: %v", err)
	}
	const (
		ver  = "9.8.7-test"
		rev  = "0123456789abcdef0123456789abcdef01234567"
		date = "2026-12-06T23:00:00Z"
	)
	bin := filepath.Join(t.TempDir(), "gatehouse")
	ldflags := "-X main.version=" + ver + " -X main.commit=" + rev + " -X main.buildDate=" + date
	build := exec.Command(goTool, "build", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "gatehouse " + ver + " (commit 0123456789ab, built " + date + ", " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("gatehouse %s: %v", args[0], err)
		}
		if string(out) != want {
			t.Errorf("gatehouse %s printed %q, want %q", args[0], out, want)
		}
	}
}
