// Package proto holds the Gatehouse plugin protocol's definitions, one
// folder per version (gatehouse/plugin/v1, gatehouse/plugin/v2), and this
// test, which keeps the committed generated code honest.
package proto

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// moduleRoot is where the Makefile lives, seen from this package.
const moduleRoot = ".."

// TestGeneratedCodeIsCurrent regenerates the Go code of every .proto file
// the Makefile's PROTO_FILES lists, with the plug-in versions pinned in
// the Makefile, and compares it with the committed files: every file
// protoc writes must be committed, and every committed *.pb.go file must
// be one protoc writes.
//
// Prerequisites: protoc on PATH (Debian: protobuf-compiler) and the pinned
// plug-ins in bin/tools ("make proto-tools"). When one is missing the test
// installs it if it runs as root (apt-get, go install: the Makefile's
// promise that "make test" installs what the tests need as root), and
// otherwise says SKIP loudly, naming what is missing.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	pins := readPins(t)
	tools, err := filepath.Abs(filepath.Join(moduleRoot, "bin", "tools"))
	if err != nil {
		t.Fatal(err)
	}

	missing := missingTools(tools, pins)
	if len(missing) > 0 && os.Geteuid() == 0 {
		if err := install(t, tools, pins, missing); err != nil {
			// As root (as CI runs) nothing may be skipped: make test's
			// test/install-deps should have installed these.
			t.Fatalf("could not install %s as root: %v", strings.Join(missing, ", "), err)
		}
		missing = missingTools(tools, pins)
	}
	if len(missing) > 0 {
		skipLoudly(t, "cannot regenerate the protocol code to compare it: missing %s. "+
			"Run \"apt-get install -y protobuf-compiler\" and \"make proto-tools\", or run the tests as root.",
			strings.Join(missing, ", "))
	}

	tmp := t.TempDir()
	for _, f := range pins.files {
		if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The same command lines as the Makefile's proto target.
	for _, args := range [][]string{
		append([]string{"--proto_path=.", "--go_out=paths=source_relative:.", "--go-grpc_out=paths=source_relative:."}, pins.files...),
		append([]string{"--proto_path=.", "--go-vtproto_out=paths=source_relative:.", "--go-vtproto_opt=features=marshal+unmarshal+size"}, pins.vtFiles...),
	} {
		cmd := exec.Command("protoc", args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("protoc: %v\n%s", err, out)
		}
	}

	generated := pbFiles(t, tmp)
	committed := pbFiles(t, ".")
	if !slices.Equal(generated, committed) {
		t.Errorf("protoc writes %v, the repository holds %v: run \"make proto\" and commit the result", generated, committed)
	}
	for _, f := range generated {
		want, err := os.ReadFile(filepath.Join(tmp, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("committed %s: %v", f, err)
			continue
		}
		if !bytes.Equal(withoutProtocVersion(got), withoutProtocVersion(want)) {
			t.Errorf("proto/%s is not what its .proto file generates with the pinned plug-ins "+
				"(protoc-gen-go %s, protoc-gen-go-grpc %s, protoc-gen-go-vtproto %s): run \"make proto\" and commit the result.\n%s",
				f, pins.goVersion, pins.grpcVersion, pins.vtVersion, firstDifference(got, want))
		}
	}
}

// pbFiles lists the generated Go files under dir, relative to it.
func pbFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".pb.go") {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

type protoPins struct {
	goVersion, grpcVersion, vtVersion string
	files                             []string // PROTO_FILES, relative to proto/
	vtFiles                           []string // PROTO_VT_FILES
}

// readPins takes the plug-in versions from the Makefile, so that the
// Makefile is the one place they are written down.
func readPins(t *testing.T) protoPins {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(moduleRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	pin := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(\S.*?)\s*$`).FindSubmatch(mk)
		if m == nil {
			t.Fatalf("Makefile does not pin %s", name)
		}
		return string(m[1])
	}
	return protoPins{pin("PROTOC_GEN_GO_VERSION"), pin("PROTOC_GEN_GO_GRPC_VERSION"), pin("PROTOC_GEN_GO_VTPROTO_VERSION"),
		strings.Fields(pin("PROTO_FILES")), strings.Fields(pin("PROTO_VT_FILES"))}
}

// missingTools names what is absent or not at the pinned version.
func missingTools(tools string, p protoPins) []string {
	var missing []string
	if _, err := exec.LookPath("protoc"); err != nil {
		missing = append(missing, "protoc")
	}
	// protoc-gen-go prints "protoc-gen-go v1.36.12", protoc-gen-go-grpc
	// prints "protoc-gen-go-grpc 1.5.1".
	check := func(name, version string) {
		out, err := exec.Command(filepath.Join(tools, name), "--version").Output()
		if err != nil || strings.TrimPrefix(lastField(string(out)), "v") != strings.TrimPrefix(version, "v") {
			missing = append(missing, name+"@"+version+" in "+tools)
		}
	}
	check("protoc-gen-go", p.goVersion)
	check("protoc-gen-go-grpc", p.grpcVersion)
	// protoc-gen-go-vtproto has no --version: ask the binary which module
	// version it was built from.
	if out, err := exec.Command("go", "version", "-m", filepath.Join(tools, "protoc-gen-go-vtproto")).Output(); err != nil ||
		!regexp.MustCompile(`(?m)^\s+mod\s+github.com/planetscale/vtprotobuf\s+`+regexp.QuoteMeta(p.vtVersion)+`\s`).Match(out) {
		missing = append(missing, "protoc-gen-go-vtproto@"+p.vtVersion+" in "+tools)
	}
	return missing
}

func lastField(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

func install(t *testing.T, tools string, p protoPins, missing []string) error {
	for _, m := range missing {
		var cmds [][]string
		switch {
		case m == "protoc":
			cmds = [][]string{{"apt-get", "install", "-y", "protobuf-compiler"}}
			if _, err := exec.LookPath("protoc"); err == nil {
				continue
			}
		case strings.HasPrefix(m, "protoc-gen-go-grpc@"):
			cmds = [][]string{{"go", "install", "google.golang.org/grpc/cmd/protoc-gen-go-grpc@" + p.grpcVersion}}
		case strings.HasPrefix(m, "protoc-gen-go@"):
			cmds = [][]string{{"go", "install", "google.golang.org/protobuf/cmd/protoc-gen-go@" + p.goVersion}}
		case strings.HasPrefix(m, "protoc-gen-go-vtproto@"):
			cmds = [][]string{{"go", "install", "github.com/planetscale/vtprotobuf/cmd/protoc-gen-go-vtproto@" + p.vtVersion}}
		}
		for _, c := range cmds {
			t.Logf("installing: %s", strings.Join(c, " "))
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Env = append(os.Environ(), "GOBIN="+tools, "DEBIAN_FRONTEND=noninteractive")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v\n%s", strings.Join(c, " "), err, out)
			}
		}
	}
	return nil
}

var protocVersionLine = regexp.MustCompile(`(?m)^//[ \t-]*protoc[ \t]+v[0-9.]+.*$`)

// withoutProtocVersion drops the header line naming the protoc release:
// developers may have another one, and the code does not depend on it.
func withoutProtocVersion(b []byte) []byte {
	return protocVersionLine.ReplaceAll(b, nil)
}

func firstDifference(got, want []byte) string {
	g := strings.Split(string(withoutProtocVersion(got)), "\n")
	w := strings.Split(string(withoutProtocVersion(want)), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("first difference at line %d:\n  committed:   %q\n  regenerated: %q", i+1, gl, wl)
		}
	}
	return ""
}

// skipLoudly skips with a banner on stderr, which "go test" shows even
// without -v.
func skipLoudly(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}
