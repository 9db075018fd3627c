package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Stamped at build time by the Makefile:
//
//	go build -ldflags "-X main.version=0.4.0 -X main.commit=1a2b3c... -X main.buildDate=2026-12-06T23:00:00Z"
//
// Left empty by a plain "go build" or "go test"; buildInfo then falls back
// to what the Go toolchain recorded in the binary (runtime/debug), and to
// "dev".
var (
	version   string
	commit    string
	buildDate string
)

// Version is the version this binary reports: in logs, events and to the
// built-in plugins it starts.
var Version = buildInfo().Version

// BuildInfo says which build this binary is; the admin API serves it as
// JSON.
type BuildInfo struct {
	// Version is the release (git describe, without a leading "v"), the
	// module version the Go toolchain stamped, or "dev".
	Version string `json:"version"`
	// Commit is the full commit hash, with "-dirty" when the tree had
	// uncommitted changes; "" when unknown.
	Commit string `json:"commit"`
	// Built is the commit time (RFC 3339), which the Makefile uses as the
	// build date so that builds are reproducible; "" when unknown.
	Built string `json:"built"`
	// Go is the toolchain that built the binary, e.g. "go1.26.8".
	Go string `json:"go"`
}

// buildInfo returns the stamped values, falling back to the binary's own
// build information.
func buildInfo() BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolveBuildInfo(version, commit, buildDate, bi)
}

// resolveBuildInfo prefers the -ldflags values, then the toolchain's
// build information (bi may be nil), then "dev".
func resolveBuildInfo(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) BuildInfo {
	info := BuildInfo{Version: ldVersion, Commit: ldCommit, Built: ldDate, Go: runtime.Version()}
	if bi != nil {
		if bi.GoVersion != "" {
			info.Go = bi.GoVersion
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		var revision, vcsTime string
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if info.Commit == "" && revision != "" {
			info.Commit = revision
			if modified {
				info.Commit += "-dirty"
			}
		}
		if info.Built == "" {
			info.Built = vcsTime
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// String is the one line "gatehouse version" and "gatehouse --version"
// print, e.g.
//
//	gatehouse 0.4.0 (commit 1a2b3c4d5e6f, built 2026-12-06T23:00:00Z, go1.26.8 linux/amd64)
//
// Unknown parts are left out.
func (b BuildInfo) String() string {
	var parts []string
	if b.Commit != "" {
		c, dirty := strings.CutSuffix(b.Commit, "-dirty")
		if len(c) > 12 {
			c = c[:12]
		}
		if dirty {
			c += "-dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if b.Built != "" {
		parts = append(parts, "built "+b.Built)
	}
	parts = append(parts, fmt.Sprintf("%s %s/%s", b.Go, runtime.GOOS, runtime.GOARCH))
	return fmt.Sprintf("gatehouse %s (%s)", b.Version, strings.Join(parts, ", "))
}

// versionString is the version line of this binary.
func versionString() string { return buildInfo().String() }
