package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// templateDir is the plugin template, a third-party plugin in its own Go
// module. Its own tests (go test ./... in that directory) cover the
// back-end; this one covers the way from its README to a login.
const templateDir = "../../examples/plugin-template"

// TestTemplatePlugin follows examples/plugin-template/README.md: it builds
// the plugin, writes a users file with the plugin's hash sub-command, pins
// the binary's SHA-256 in the README's configuration and logs in through
// it, with the engine and with the README's own commands. As root the
// plugin runs as nobody, so everything it needs lies in a directory every
// user can read.
func TestTemplatePlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: -short: TestTemplatePlugin builds examples/plugin-template")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("SKIP: no go command to build examples/plugin-template: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(templateDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)

	// As root the plugin runs as nobody, who must reach the binary and the
	// users file: MkdirTemp (like t.TempDir) makes a 0700 directory.
	dir, err := os.MkdirTemp("", "gatehouse-template-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "gatehouse-plugin-allowlist")
	build := exec.CommandContext(t.Context(), goTool, "build", "-o", bin, ".")
	build.Dir = templateDir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", templateDir, err, out)
	}
	if err := os.Chmod(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	sum := templateSHA256(t, bin)

	// The password is the one the README's policy eval types.
	m := regexp.MustCompile(`printf '%s\\n' '([^']+)' \| gatehouse policy eval`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("no policy eval with a password in the README")
	}
	password := m[1]
	hash := exec.CommandContext(t.Context(), bin, "hash", "partner1", "partners")
	hash.Stdin = strings.NewReader(password + "\n")
	line, err := hash.Output()
	if err != nil {
		t.Fatalf("%s hash: %v", bin, err)
	}
	users := filepath.Join(dir, "partners.txt")
	if err := os.WriteFile(users, line, 0o644); err != nil {
		t.Fatal(err)
	}

	// The README's configuration, pointed at this directory.
	yamlBlock := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(readme)
	if yamlBlock == nil {
		t.Fatal("no yaml block in the README")
	}
	text := strings.NewReplacer(
		"/usr/lib/gatehouse/plugins", dir,
		"<hex>", sum,
		"/etc/gatehouse/partners.txt", users,
	).Replace(yamlBlock[1])
	path := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("engine", func(t *testing.T) {
		cfg := templateConfig(t, path)
		engine, bs, err := buildEngine(t.Context(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer bs.close()
		tests := []struct {
			user, secret string
			accept       bool
			reason       string // why the plugin rejects
		}{
			{"partner1", password, true, ""},
			{"partner1", password + "!", false, "wrong password"},
			{"partner1", "", false, ""}, // the engine rejects it before the plugin
			{"nobody-listed", password, false, "unknown user"},
		}
		for _, tt := range tests {
			res, err := engine.Authenticate(t.Context(), "radius", authpolicy.Credential{
				Kind: authpolicy.Plaintext, User: tt.user, Secret: authpolicy.NewSecret(tt.secret),
			})
			if err != nil {
				t.Fatalf("%s: %v", tt.user, err)
			}
			if res.Accepted != tt.accept {
				t.Errorf("%s: accepted %t, want %t: %+v", tt.user, res.Accepted, tt.accept, res.Branches)
			}
			// A rejection must be the plugin's verdict, not a failure.
			if !tt.accept && (len(res.Branches) != 1 || res.Branches[0].Outcome != authpolicy.Rejected || !strings.Contains(res.Branches[0].Reason, tt.reason)) {
				t.Errorf("%s: %+v, want one branch rejected for %q", tt.user, res.Branches, tt.reason)
			}
			if res.Accepted && !slices.Equal(res.Identity.Groups, []string{"partners"}) {
				t.Errorf("%s: groups %q, want [partners]", tt.user, res.Identity.Groups)
			}
		}
	})

	t.Run("wrong pin", func(t *testing.T) {
		wrong := strings.Repeat("0", 64)
		bad := filepath.Join(dir, "wrong-pin.yaml")
		if err := os.WriteFile(bad, []byte(strings.Replace(text, sum, wrong, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, bs, err := buildEngine(t.Context(), templateConfig(t, bad), nil)
		if err == nil {
			bs.close()
			t.Fatal("a binary that does not match its pin started")
		}
		if !strings.Contains(err.Error(), "refusing to start it") || !strings.Contains(err.Error(), sum) {
			t.Errorf("error %q lacks the refusal or the binary's real SHA-256", err)
		}
	})

	t.Run("README commands", func(t *testing.T) {
		blocks := regexp.MustCompile("(?s)```console\n(.*?)```").FindAllStringSubmatch(readme, -1)
		if len(blocks) == 0 {
			t.Fatal("no console block in the README")
		}
		for _, b := range blocks {
			stdin, args, want := templateCommand(t, b[1])
			for i, a := range args {
				if a == "/etc/gatehouse/gatehouse.yaml" {
					args[i] = path
				}
			}
			code, out, stderr := gh(t, stdin, args...)
			if code != 0 {
				t.Errorf("%v: exit %d\n%s%s", args, code, out, stderr)
				continue
			}
			got := templateNormalize(out)
			for _, w := range want {
				w = strings.TrimSuffix(templateNormalize(strings.ReplaceAll(w, "/etc/gatehouse/gatehouse.yaml", path)), "\n")
				if !strings.Contains("\n"+got, "\n"+w+"\n") {
					t.Errorf("%v: output lacks the README's line\n  %s\ngot:\n%s", args, w, out)
				}
			}
		}
	})

	t.Run("MS-CHAPv2", func(t *testing.T) {
		// The README: a lone verify-plaintext branch is skipped for
		// MS-CHAPv2, a warning for the RADIUS service, an error for PPTP.
		code, out, _ := gh(t, password+"\n", "policy", "eval", "--config", path,
			"--service", "radius", "--user", "partner1", "--secret-stdin")
		if code != 1 || !strings.Contains(out, "decision: REJECT") || !strings.Contains(out, "skipped") {
			t.Errorf("MS-CHAPv2 login: exit %d\n%s", code, out)
		}
		m := regexp.MustCompile(`(?m)^service pptp: branch .*$`).FindString(readme)
		if m == "" {
			t.Fatal("no PPTP error quoted in the README")
		}
		pptp := strings.Replace(text, "services:\n", "services:\n  pptp: {policy: Partners}\n", 1)
		pptp = strings.Replace(pptp, "pptp:\n  enabled: false\n", "", 1)
		p := filepath.Join(dir, "pptp.yaml")
		if err := os.WriteFile(p, []byte(pptp), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, _ = gh(t, "", "config", "check", "--config", p)
		if code != 1 || !strings.Contains(out, ": "+m+"\n") {
			t.Errorf("config check with PPTP on the plugin: exit %d, want 1 and %q:\n%s", code, m, out)
		}
	})
}

func templateSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func templateConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, ps, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if errs := ps.Errors(); len(errs) > 0 {
		t.Fatalf("%s does not load: %v", path, errs)
	}
	return cfg
}

// templateCommand splits a console block: "$ [printf '%s\n' 'SECRET' |]
// gatehouse ARGS", continued over lines ending in "\", then the output.
func templateCommand(t *testing.T, block string) (stdin string, args, output []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	cmd, ok := strings.CutPrefix(lines[0], "$ ")
	if !ok {
		t.Fatalf("console block does not start with a command: %q", lines[0])
	}
	i := 1
	for strings.HasSuffix(cmd, "\\") && i < len(lines) {
		cmd = strings.TrimSuffix(cmd, "\\") + " " + lines[i]
		i++
	}
	if m := regexp.MustCompile(`^printf '%s\\n' '([^']*)' \| (.*)$`).FindStringSubmatch(cmd); m != nil {
		stdin, cmd = m[1]+"\n", m[2]
	}
	fields := strings.Fields(cmd)
	if len(fields) == 0 || fields[0] != "gatehouse" {
		t.Fatalf("console block runs %q, not gatehouse", cmd)
	}
	return stdin, fields[1:], lines[i:]
}

var templateDurationRE = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s)\b`)

// templateNormalize makes output comparable with the README's: durations
// vary, and so does the padding of the columns around them.
func templateNormalize(s string) string {
	var lines []string
	for l := range strings.Lines(templateDurationRE.ReplaceAllString(s, "DURATION")) {
		lines = append(lines, strings.Join(strings.Fields(l), " "))
	}
	return strings.Join(lines, "\n") + "\n"
}
