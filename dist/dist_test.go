package dist

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// The names the package's files agree on.
const (
	unitPath   = "/lib/systemd/system/gatehouse.service"
	configPath = "/etc/gatehouse/gatehouse.yaml"
	pluginUser = "gatehouse-plugin"
)

// TestMain removes the package the tests built (once, for all of them).
func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// skipLoudly skips with a banner on stderr, which "go test" shows even
// without -v.
func skipLoudly(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

// needRoot skips loudly unless the test runs as root.
func needRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		skipLoudly(t, "not running as root (euid %d): %s; run the tests as root", os.Geteuid(), why)
	}
}

// needTool finds a command. Missing, it skips loudly when not root and
// fails as root: CI runs as root, after test/install-deps.
func needTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Geteuid() == 0 {
		t.Fatalf("%s not found: test/install-deps should have installed the Debian package %s", name, pkg)
	}
	skipLoudly(t, "%s not found (apt-get install %s, or run make test as root)", name, pkg)
	return ""
}

// worldDir is a temporary directory in base every user may pass through:
// plugins run as an unprivileged user and re-execute the gateway's binary.
func worldDir(t testing.TB, base string) string {
	t.Helper()
	dir, err := os.MkdirTemp(base, "gatehouse-dist-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// built is the package "make package" built for this test run.
var built struct {
	once sync.Once
	dir  string // PKG_OUT, removed by TestMain
	deb  string
	err  error
}

// debPackage builds the package with "make package" into a temporary
// folder, once, and returns the .deb.
func debPackage(t testing.TB) string {
	t.Helper()
	makeTool := needTool(t, "make", "make")
	needTool(t, "dpkg-deb", "dpkg")
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "gatehouse-package-")
		if built.err != nil {
			return
		}
		cmd := exec.Command(makeTool, "-C", repoRoot(t), "package", "PKG_OUT="+built.dir, "PKG_GOARCH="+runtime.GOARCH)
		// Not the flags of a "make test" this runs under.
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=")
		})
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("make package: %v\n%s", err, out)
			return
		}
		debs, _ := filepath.Glob(filepath.Join(built.dir, "gatehouse_*.deb"))
		if len(debs) != 1 {
			built.err = fmt.Errorf("make package made %d packages (%v), want 1:\n%s", len(debs), debs, out)
			return
		}
		built.deb = debs[0]
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.deb
}

// extract unpacks the package's files (not its scripts) into dir/root.
func extract(t testing.TB, deb, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "root")
	if out, err := exec.Command("dpkg-deb", "-x", deb, root).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	return root
}

// unit reads debian/gatehouse.service: every Key=Value, by key, in order.
func unit(t testing.TB, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: not Key=Value: %q", path, line)
		}
		keys[k] = append(keys[k], v)
	}
	return keys
}

// unitCapabilities is the unit's bounding set, as setpriv names them
// (net_admin, ...).
func unitCapabilities(t testing.TB) []string {
	t.Helper()
	sets := unit(t, "debian/gatehouse.service")["CapabilityBoundingSet"]
	if len(sets) != 1 {
		t.Fatalf("want one CapabilityBoundingSet= line, have %q", sets)
	}
	var caps []string
	for _, c := range strings.Fields(sets[0]) {
		caps = append(caps, strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	return caps
}

// TestUnitDirectives pins the unit's hardening: the directives the
// package promises (dist/README.md) are there with their values, and
// those that would break the gateway are not.
func TestUnitDirectives(t *testing.T) {
	u := unit(t, "debian/gatehouse.service")
	want := map[string]string{
		"ExecStart":               "/usr/bin/gatehouse serve --config " + configPath,
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"StateDirectory":          "gatehouse",
		"RuntimeDirectory":        "gatehouse",
		"ConfigurationDirectory":  "gatehouse",
		"LogsDirectory":           "gatehouse",
		"DevicePolicy":            "closed",
		"DeviceAllow":             "/dev/net/tun rw",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		"SystemCallFilter":        "@system-service",
		"SystemCallArchitectures": "native",
		"LimitNOFILE":             "65536",
		"WantedBy":                "multi-user.target",
	}
	for k, v := range want {
		if got := u[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	// Root, so that plugins change to plugins.user; /proc/sys writable
	// (IP forwarding, proxy ARP); /dev/net/tun visible.
	for _, k := range []string{"User", "DynamicUser", "AmbientCapabilities", "ProtectKernelTunables", "PrivateDevices", "PrivateNetwork", "PrivateUsers", "ProcSubset"} {
		if v, ok := u[k]; ok {
			t.Errorf("%s=%q: see the unit's comment for why it is not set", k, v)
		}
	}
	caps := unitCapabilities(t)
	for _, c := range caps {
		if c == "sys_admin" || c == "sys_module" || c == "sys_ptrace" {
			t.Errorf("CapabilityBoundingSet holds CAP_%s", strings.ToUpper(c))
		}
	}
}

// TestShippedConfigIsSafe checks the configuration the package installs:
// no errors or warnings, no front door on, the admin API on a Unix socket
// only, state, socket and log where the unit's directories are, and the
// plugin user the package creates.
func TestShippedConfigIsSafe(t *testing.T) {
	cfg, ps, err := config.Load("debian/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, pps := cfg.CheckPolicies()
	if all := append(ps, pps...); len(all) > 0 {
		t.Fatalf("the shipped configuration has problems:\n%v", all)
	}
	if cfg.PPTP.Enabled || cfg.RADIUSServer.Enabled || cfg.RADIUSDAE.Enabled {
		t.Errorf("a front door is on (pptp %v, radius_server %v, radius_dae %v): installing the package would open a port",
			cfg.PPTP.Enabled, cfg.RADIUSServer.Enabled, cfg.RADIUSDAE.Enabled)
	}
	if l := cfg.Admin.Listen; l.IsValid() && !l.Addr().IsLoopback() {
		t.Errorf("admin.listen %s is not on the loopback", l)
	}
	if cfg.Admin.Listen != (netip.AddrPort{}) {
		t.Errorf("admin.listen %s: the package serves the admin API on its socket only", cfg.Admin.Listen)
	}
	if cfg.Admin.Socket != "/run/gatehouse/admin.sock" || cfg.Admin.SocketMode != 0o600 {
		t.Errorf("admin.socket %s mode %04o, want /run/gatehouse/admin.sock (the unit's RuntimeDirectory) mode 0600",
			cfg.Admin.Socket, uint32(cfg.Admin.SocketMode))
	}
	if cfg.StateDir != "/var/lib/gatehouse" {
		t.Errorf("state_dir %s, want /var/lib/gatehouse (the unit's StateDirectory)", cfg.StateDir)
	}
	for name, p := range map[string]string{"store.path": cfg.Store.Path, "store.key_file": cfg.Store.KeyFile, "admin.token_file": cfg.Admin.TokenFile, "log.index": cfg.Log.Index} {
		if !strings.HasPrefix(p, cfg.StateDir+"/") {
			t.Errorf("%s %s is not in state_dir", name, p)
		}
	}
	if cfg.Log.File != "" && !strings.HasPrefix(cfg.Log.File, "/var/log/gatehouse/") {
		t.Errorf("log.file %s: the unit can write only /var/log/gatehouse", cfg.Log.File)
	}
	if !cfg.PPTP.MPPE.Required || cfg.PPTP.Access.Default != config.Off {
		t.Errorf("pptp: MPPE required %v, access.default %v; want true, off", cfg.PPTP.MPPE.Required, cfg.PPTP.Access.Default)
	}
	if cfg.Plugins.Dir != "/usr/lib/gatehouse/plugins" {
		t.Errorf("plugins.dir %s, want the package's /usr/lib/gatehouse/plugins", cfg.Plugins.Dir)
	}
	sysusers, err := os.ReadFile("debian/gatehouse.sysusers")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Plugins.User != pluginUser || !regexp.MustCompile(`(?m)^u `+pluginUser+` `).Match(sysusers) {
		t.Errorf("plugins.user %s; the package creates %s (debian/gatehouse.sysusers)", cfg.Plugins.User, pluginUser)
	}
}

// TestDebVersion checks how build-deb derives the Debian version from git
// describe, and that the versions sort as releases do.
func TestDebVersion(t *testing.T) {
	bash := needTool(t, "bash", "bash")
	const date = "2026-12-06T23:00:00Z"
	tests := []struct{ version, commit, want string }{
		{"0.4.0", "1a2b3c4d5e6f", "0.4.0-1"},
		{"0.5.0-rc1", "1a2b3c4d5e6f", "0.5.0~rc1-1"},
		{"0.4.0-3-g1a2b3c4", "1a2b3c4d5e6f", "0.4.0+git20261206.3.1a2b3c4-1"},
		{"0.4.0-3-g1a2b3c4-dirty", "1a2b3c4d5e6f", "0.4.0+git20261206.3.1a2b3c4+dirty-1"},
		{"0.5.0-rc1-2-gabcdef0", "abcdef0123", "0.5.0~rc1+git20261206.2.abcdef0-1"},
		{"1a2b3c4", "1a2b3c4d5e6f", "0.0.0~git20261206.1a2b3c4-1"},
		{"1a2b3c4-dirty", "1a2b3c4d5e6f", "0.0.0~git20261206.1a2b3c4+dirty-1"},
		{"1234567", "1234567abcde", "0.0.0~git20261206.1234567-1"}, // a hash that looks like a number
		{"0.0.0-dev", "", "0.0.0~dev-1"},
	}
	for _, tt := range tests {
		out, err := exec.Command(bash, "build-deb", "--print-deb-version", "--version", tt.version, "--commit", tt.commit, "--date", date).CombinedOutput()
		if err != nil {
			t.Fatalf("build-deb --print-deb-version --version %s: %v\n%s", tt.version, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tt.want {
			t.Errorf("version %s: Debian version %s, want %s", tt.version, got, tt.want)
		}
	}
	dpkg, err := exec.LookPath("dpkg")
	if err != nil {
		return
	}
	for _, tt := range tests {
		if out, err := exec.Command(dpkg, "--validate-version", tt.want).CombinedOutput(); err != nil {
			t.Errorf("%s is not a Debian version: %s", tt.want, out)
		}
	}
	order := []string{"0.0.0~dev-1", "0.0.0~git20261206.1a2b3c4-1", "0.4.0-1", "0.4.0+git20261206.3.1a2b3c4-1", "0.5.0~rc1-1", "0.5.0~rc1+git20261206.2.abcdef0-1", "0.5.0-1"}
	for i := 1; i < len(order); i++ {
		if err := exec.Command(dpkg, "--compare-versions", order[i-1], "lt", order[i]).Run(); err != nil {
			t.Errorf("%s does not sort before %s", order[i-1], order[i])
		}
	}
}

// TestLintianOverridesJustified: every override comes after a comment
// saying why.
func TestLintianOverridesJustified(t *testing.T) {
	data, err := os.ReadFile("debian/lintian-overrides")
	if err != nil {
		t.Fatal(err)
	}
	comment := false
	for i, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			comment = true
		case strings.TrimSpace(line) == "":
			comment = false
		case !comment:
			t.Errorf("debian/lintian-overrides:%d: %q has no comment giving its reason", i+1, line)
		}
	}
}

// TestLintian runs lintian on the package, info and pedantic tags too:
// none may remain but the overridden ones, and every override must still
// match (lintian's unused-override).
func TestLintian(t *testing.T) {
	lintian := needTool(t, "lintian", "lintian")
	deb := debPackage(t)
	cmd := exec.Command(lintian, "--display-info", "--pedantic", "--fail-on", "error,warning,info,pedantic", deb)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir()) // lintian leaves a file there
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var tags []string
	for _, line := range strings.Split(stdout.String(), "\n") {
		if len(line) > 2 && line[1] == ':' && strings.ContainsRune("EWIPX", rune(line[0])) {
			tags = append(tags, line)
		}
	}
	if err != nil || len(tags) > 0 {
		t.Errorf("lintian %s: %v\n%s\n%s", filepath.Base(deb), err, strings.Join(tags, "\n"), stderr.String())
		t.Log("fix the package, or add an override with its reason to dist/debian/lintian-overrides")
	}
}

// verifyRoot is a root for systemd-analyze verify --root: the package's
// files and what the unit needs from the packages it depends on, taken
// from this host: systemd's own units (the targets the unit is ordered
// after) and procps's /bin/kill (ExecReload).
func verifyRoot(t *testing.T, deb string) string {
	t.Helper()
	root := extract(t, deb, t.TempDir())
	if out, err := exec.Command("cp", "-an", "/usr/lib/systemd/system/.", filepath.Join(root, "lib/systemd/system")).CombinedOutput(); err != nil {
		t.Fatalf("copying systemd's units: %v\n%s", err, out)
	}
	kill := "/bin/kill"
	if _, err := os.Stat(kill); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("%s: %v (test/install-deps should have installed procps)", kill, err)
		}
		skipLoudly(t, "%s not found (apt-get install procps)", kill)
	}
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-L", kill, filepath.Join(root, "bin/kill")).CombinedOutput(); err != nil {
		t.Fatalf("cp %s: %v\n%s", kill, err, out)
	}
	return root
}

// verify runs systemd-analyze verify on the unit in root; MANPATH points
// it at the package's manual page (Documentation=man:gatehouse(1)). It
// needs no running systemd. Any output is a finding: unknown keys are
// only warned about.
func verify(t *testing.T, analyze, root string) (string, error) {
	t.Helper()
	cmd := exec.Command(analyze, "verify", "--root="+root, unitPath)
	cmd.Env = append(os.Environ(), "MANPATH="+filepath.Join(root, "usr/share/man"), "SYSTEMD_LOG_COLOR=0")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestSystemdVerify(t *testing.T) {
	analyze := needTool(t, "systemd-analyze", "systemd")
	deb := debPackage(t)
	root := verifyRoot(t, deb)
	if out, err := verify(t, analyze, root); err != nil || out != "" {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}

	// The check can fail: a misspelt key, and an ExecStart= binary the
	// package does not hold.
	path := filepath.Join(root, unitPath)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, broken := range []struct{ from, to, want string }{
		{"ProtectSystem=strict", "ProtectSytem=strict", "ProtectSytem"},
		{"ExecStart=/usr/bin/gatehouse ", "ExecStart=/usr/bin/gatehouse-missing ", "gatehouse-missing"},
	} {
		if err := os.WriteFile(path, bytes.Replace(good, []byte(broken.from), []byte(broken.to), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, _ := verify(t, analyze, root); !strings.Contains(out, broken.want) {
			t.Errorf("systemd-analyze verify did not notice %s: %q", broken.to, out)
		}
	}
}

// TestManPageListsEveryCommand: gatehouse(1) names every command of the
// packaged binary's --help.
func TestManPageListsEveryCommand(t *testing.T) {
	deb := debPackage(t)
	root := extract(t, deb, t.TempDir())
	help, err := exec.Command(filepath.Join(root, "usr/bin/gatehouse"), "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile("debian/gatehouse.1")
	if err != nil {
		t.Fatal(err)
	}
	before, _, _ := strings.Cut(string(help), "\nFlags:")
	cmds := regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) {2,}\S`).FindAllStringSubmatch(before, -1)
	if len(cmds) < 5 {
		t.Fatalf("found %d commands in --help:\n%s", len(cmds), help)
	}
	for _, m := range cmds {
		if m[1] == "help" {
			continue
		}
		if !regexp.MustCompile(`(?m)^\.BR? ` + m[1] + `\b`).Match(page) {
			t.Errorf("debian/gatehouse.1 does not list the command %q", m[1])
		}
	}
}

// tree lists every path under root, relative, with a mark for its kind.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case rel == ".":
		case d.IsDir():
			paths[rel] = "dir"
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			paths[rel] = "-> " + target
		default:
			paths[rel] = "file"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return paths
}

// passwdEntry returns the passwd line of name in the file, or "".
func passwdEntry(t *testing.T, path, name string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, name+":") {
			if found != nil {
				t.Errorf("%s: %s twice", path, name)
			}
			found = strings.Split(line, ":")
		}
	}
	return found
}

// TestInstallRemovePurge installs the package into a throw-away root
// with dpkg --root --force-script-chrootless: dpkg runs the maintainer
// scripts on this host with DPKG_ROOT set, and they must act on that root
// alone. It checks the files, the account and the unit's enablement, the
// installed configuration with the installed binary, a reinstall, a
// remove and a purge.
func TestInstallRemovePurge(t *testing.T) {
	needRoot(t, "dpkg installs root-owned files into the throw-away root")
	dpkg := needTool(t, "dpkg", "dpkg")
	dpkgQuery := needTool(t, "dpkg-query", "dpkg")
	needTool(t, "systemd-sysusers", "systemd")
	needTool(t, "deb-systemd-helper", "init-system-helpers")
	deb := debPackage(t)

	root := t.TempDir()
	for _, d := range []string{"etc", "var/log", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, text := range map[string]string{
		"var/lib/dpkg/status":    "",
		"var/lib/dpkg/available": "",
		"etc/passwd":             "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/group":              "root:x:0:\nnogroup:x:65534:\n",
	} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := tree(t, root)
	hostUser := passwdEntry(t, "/etc/passwd", pluginUser) != nil
	hostWants := "/etc/systemd/system/multi-user.target.wants/gatehouse.service"
	_, hostErr := os.Lstat(hostWants)
	hostEnabled := hostErr == nil

	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(dpkg, append([]string{"--root=" + root, "--force-script-chrootless", "--force-depends"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	status := func() string {
		t.Helper()
		out, _ := exec.Command(dpkgQuery, "--admindir="+filepath.Join(root, "var/lib/dpkg"), "-W", "-f=${db:Status-Abbrev} ${Conffiles}", "gatehouse").Output()
		return strings.TrimSpace(string(out))
	}
	exists := func(p string) bool {
		_, err := os.Lstat(filepath.Join(root, p))
		return err == nil
	}

	run("--install", deb)
	if st := status(); !strings.HasPrefix(st, "ii ") || !strings.Contains(st, configPath+" ") {
		t.Errorf("dpkg-query: %q, want installed with the conffile %s", st, configPath)
	}
	for p, mode := range map[string]fs.FileMode{
		"usr/bin/gatehouse":                           0o755,
		"usr/lib/gatehouse/plugins":                   fs.ModeDir | 0o755,
		"etc/gatehouse/gatehouse.yaml":                0o644,
		"lib/systemd/system/gatehouse.service":        0o644,
		"usr/lib/sysusers.d/gatehouse.conf":           0o644,
		"usr/share/doc/gatehouse/copyright":           0o644,
		"usr/share/doc/gatehouse/changelog.Debian.gz": 0o644,
		"usr/share/man/man1/gatehouse.1.gz":           0o644,
	} {
		fi, err := os.Lstat(filepath.Join(root, p))
		if err != nil {
			t.Errorf("not installed: %v", err)
			continue
		}
		if fi.Mode() != mode || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("/%s: mode %v uid %d, want %v root", p, fi.Mode(), fi.Sys().(*syscall.Stat_t).Uid, mode)
		}
	}
	copyright, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/gatehouse/copyright"))
	if !bytes.HasPrefix(copyright, []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")) ||
		!bytes.Contains(copyright, []byte("License: Apache-2.0\n")) || !bytes.Contains(copyright, []byte("/usr/share/common-licenses/Apache-2.0")) {
		t.Errorf("copyright is not DEP-5 Apache-2.0 pointing to /usr/share/common-licenses:\n%s", copyright)
	}

	// The account, in the root only.
	acct := passwdEntry(t, filepath.Join(root, "etc/passwd"), pluginUser)
	if len(acct) != 7 {
		t.Fatalf("%s not created in %s/etc/passwd", pluginUser, root)
	}
	uid, _ := strconv.Atoi(acct[2])
	if uid == 0 || uid >= 1000 || acct[5] != "/nonexistent" || acct[6] != "/usr/sbin/nologin" {
		t.Errorf("%s: %q, want a system account without home or shell", pluginUser, strings.Join(acct, ":"))
	}
	if !hostUser && passwdEntry(t, "/etc/passwd", pluginUser) != nil {
		t.Errorf("the postinst created %s in the host's /etc/passwd", pluginUser)
	}

	// Enabled, in the root only.
	wants := "etc/systemd/system/multi-user.target.wants/gatehouse.service"
	if target, err := os.Readlink(filepath.Join(root, wants)); err != nil || target != unitPath {
		t.Errorf("%s -> %q (%v), want -> %s", wants, target, err, unitPath)
	}
	if _, err := os.Lstat(hostWants); !hostEnabled && err == nil {
		t.Errorf("the postinst enabled the unit on the host: %s", hostWants)
	}

	// The installed binary accepts the installed configuration, and says
	// which build it is.
	bin := filepath.Join(root, "usr/bin/gatehouse")
	cfg := filepath.Join(root, configPath)
	if out, err := exec.Command(bin, "config", "check", "--config", cfg).CombinedOutput(); err != nil || string(out) != cfg+": OK\n" {
		t.Errorf("gatehouse config check: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || !strings.HasPrefix(string(out), "gatehouse ") || strings.HasPrefix(string(out), "gatehouse dev ") {
		t.Errorf("gatehouse version: %v, %q: want a stamped version", err, out)
	}

	// Reinstalling (an upgrade to the same version) keeps the edited
	// configuration, the one account and the enablement.
	edited := "\n# edited by the administrator\n"
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(edited)
	f.Close()
	run("--install", deb)
	if data, _ := os.ReadFile(cfg); !strings.HasSuffix(string(data), edited) {
		t.Errorf("a reinstall lost the edits to %s", configPath)
	}
	if again := passwdEntry(t, filepath.Join(root, "etc/passwd"), pluginUser); strings.Join(again, ":") != strings.Join(acct, ":") {
		t.Errorf("a reinstall changed the account: %q, was %q", again, acct)
	}
	if !exists(wants) {
		t.Errorf("a reinstall disabled the unit")
	}

	// What the service would have made at run time.
	for _, p := range []string{"var/lib/gatehouse/store/secret.key", "var/lib/gatehouse/admin.token", "var/log/gatehouse/gatehouse.log"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Remove: the program goes, the configuration and the state stay.
	run("--remove", "gatehouse")
	if st := status(); !strings.HasPrefix(st, "rc ") {
		t.Errorf("after remove, dpkg-query: %q, want rc (configuration files left)", st)
	}
	for _, p := range []string{"usr/bin/gatehouse", "lib/systemd/system/gatehouse.service", "usr/lib/gatehouse"} {
		if exists(p) {
			t.Errorf("remove left /%s", p)
		}
	}
	for _, p := range []string{"etc/gatehouse/gatehouse.yaml", "var/lib/gatehouse/store/secret.key"} {
		if !exists(p) {
			t.Errorf("remove deleted /%s: a reinstall would not carry on", p)
		}
	}

	// Purge: nothing of the package is left but the account (Debian
	// keeps system accounts) and empty directories that are systemd's on
	// a real system; dpkg's own database is dpkg's.
	run("--purge", "gatehouse")
	if st := status(); st != "" && !strings.HasPrefix(st, "un ") && !strings.HasPrefix(st, "pn ") {
		t.Errorf("after purge, dpkg-query: %q", st)
	}
	keptForAccount := []string{"etc/passwd-", "etc/group-", "etc/shadow", "etc/gshadow", "etc/.pwd.lock"}
	systemdDirs := []string{"etc/systemd", "etc/systemd/system", "var/lib/systemd"}
	for p, kind := range tree(t, root) {
		if _, ok := before[p]; ok || strings.HasPrefix(p, "var/lib/dpkg/") || slices.Contains(keptForAccount, p) {
			continue
		}
		if slices.Contains(systemdDirs, p) && kind == "dir" {
			continue
		}
		t.Errorf("purge left /%s (%s)", p, kind)
	}
	if passwdEntry(t, filepath.Join(root, "etc/passwd"), pluginUser) == nil {
		t.Errorf("purge deleted the account %s; the package documents that it stays", pluginUser)
	}
}

// gateway is one "gatehouse serve" under test.
type gateway struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit, once exited is closed
	socket string
	log    string
	client *http.Client
}

// get asks the admin socket.
func (g *gateway) get(path string, out any) error {
	resp, err := g.client.Get("http://gatehouse" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// healthy waits for /healthz; false if the gateway exited first.
func (g *gateway) healthy(t *testing.T) bool {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.exited:
			return false
		default:
		}
		if g.get("/healthz", nil) == nil {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no answer on %s within 30s:\n%s", g.socket, g.logText())
	return false
}

func (g *gateway) logText() string {
	data, _ := os.ReadFile(g.log)
	return string(data)
}

type pluginInfo struct {
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	State string `json:"state"`
}

// setYAML sets the scalar at path in a YAML document, adding keys as
// needed.
func setYAML(t *testing.T, doc *yaml.Node, value string, path ...string) {
	t.Helper()
	n := doc.Content[0]
	for i, key := range path {
		var next *yaml.Node
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == key {
				next = n.Content[j+1]
			}
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode}
			if i == len(path)-1 {
				next.Kind = yaml.ScalarNode
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, next)
		}
		n = next
	}
	*n = yaml.Node{Kind: yaml.ScalarNode, Value: value, LineComment: n.LineComment, HeadComment: n.HeadComment}
}

// procStatus reads fields of /proc/PID/status.
func procStatus(pid int) map[string]string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// TestServeUnderUnitCapabilities runs the packaged binary's "serve" on
// the packaged configuration with PPTP turned on, as root with exactly the
// unit's capability bounding set and no_new_privs (setpriv), in a private
// network namespace and with a private /tmp (unshare, as PrivateTmp=), the
// state and runtime directories made as systemd makes them. It must start every front door and plugin, run the
// plugins as the unprivileged user with no capabilities, and stop cleanly
// even when a plugin is wedged. Then, for each capability of the set, the
// same without it must fail: the set holds nothing serve does not need.
func TestServeUnderUnitCapabilities(t *testing.T) {
	needRoot(t, "serve needs root to create a TUN device and to run plugins as another user")
	unshare := needTool(t, "unshare", "util-linux")
	setpriv := needTool(t, "setpriv", "util-linux")
	mount := needTool(t, "mount", "mount")
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Fatalf("/dev/net/tun: %v: the PPTP front door needs the TUN driver", err)
	}
	// The host has no gatehouse-plugin account (the tests never create
	// one outside a throw-away root): plugins run as nobody here.
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("no user nobody to run plugins as: %v", err)
	}
	caps := unitCapabilities(t)
	deb := debPackage(t)
	// Not in /tmp: the gateway gets a /tmp of its own.
	dir := worldDir(t, "/var/tmp")
	root := extract(t, deb, dir)
	bin := filepath.Join(root, "usr/bin/gatehouse")
	shipped, err := os.ReadFile(filepath.Join(root, configPath))
	if err != nil {
		t.Fatal(err)
	}

	start := func(t *testing.T, name string, caps []string) *gateway {
		t.Helper()
		run := filepath.Join(dir, name)
		state, runtimeDir := filepath.Join(run, "state"), filepath.Join(run, "run")
		for _, d := range []struct {
			path string
			mode os.FileMode
		}{{run, 0o755}, {state, 0o711}, {runtimeDir, 0o755}} {
			if err := os.Mkdir(d.path, d.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(d.path, d.mode); err != nil {
				t.Fatal(err)
			}
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(shipped, &doc); err != nil {
			t.Fatal(err)
		}
		g := &gateway{socket: filepath.Join(runtimeDir, "admin.sock"), log: filepath.Join(run, "serve.log"), exited: make(chan struct{})}
		setYAML(t, &doc, state, "state_dir")
		setYAML(t, &doc, g.socket, "admin", "socket")
		setYAML(t, &doc, "nobody", "plugins", "user")
		setYAML(t, &doc, "true", "pptp", "enabled")
		text, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		cfg := filepath.Join(run, "gatehouse.yaml")
		if err := os.WriteFile(cfg, text, 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(g.log)
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		g.cmd = exec.Command(unshare, "--net", "--mount", "--",
			"/bin/sh", "-c", `"$0" -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"`, mount,
			setpriv, "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all,+"+strings.Join(caps, ",+"), "--",
			bin, "serve", "--config", cfg)
		g.cmd.Stdout, g.cmd.Stderr = logf, logf
		g.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}
		if err := g.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { g.err = g.cmd.Wait(); close(g.exited) }()
		g.client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", g.socket)
			},
		}}
		t.Cleanup(func() {
			select {
			case <-g.exited:
			default:
				g.cmd.Process.Kill()
				<-g.exited
			}
		})
		return g
	}

	// wedge stops a plugin (SIGSTOP), then asks the gateway to stop, and
	// says whether it stopped within limit. A stopped plugin ignores
	// go-plugin's request to exit: only SIGKILL ends it.
	wedge := func(t *testing.T, g *gateway, limit time.Duration) (stopped bool, exit error) {
		t.Helper()
		var ps []pluginInfo
		if err := g.get("/v1/plugins", &ps); err != nil || len(ps) == 0 {
			t.Fatalf("/v1/plugins: %v, %v", ps, err)
		}
		pid := ps[0].PID
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			syscall.Kill(pid, syscall.SIGKILL)
			syscall.Kill(pid, syscall.SIGCONT)
		})
		if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-g.exited:
			if st := procStatus(pid); st != nil && strings.HasPrefix(st["State"], "T") {
				t.Errorf("plugin %d is still there, stopped, after the gateway exited", pid)
			}
			return true, g.err
		case <-time.After(limit):
			return false, nil
		}
	}

	t.Run("unit's set", func(t *testing.T) {
		g := start(t, "full", caps)
		if !g.healthy(t) {
			t.Fatalf("serve exited: %v\n%s", g.err, g.logText())
		}
		if err := g.get("/v1/pptp", nil); err != nil {
			t.Errorf("the PPTP front door is not running: %v", err)
		}
		var ps []pluginInfo
		if err := g.get("/v1/plugins", &ps); err != nil {
			t.Fatal(err)
		}
		if len(ps) != 2 {
			t.Errorf("plugins %+v, want the Password and OATH back-ends", ps)
		}
		for _, p := range ps {
			st := procStatus(p.PID)
			if p.State != "running" || st == nil {
				t.Errorf("plugin %s: state %s, /proc/%d: %v", p.Name, p.State, p.PID, st)
				continue
			}
			want := map[string]string{
				"Uid":        strings.Repeat(nobody.Uid+"\t", 3) + nobody.Uid,
				"Gid":        strings.Repeat(nobody.Gid+"\t", 3) + nobody.Gid,
				"Groups":     "",
				"CapPrm":     "0000000000000000",
				"CapEff":     "0000000000000000",
				"CapAmb":     "0000000000000000",
				"NoNewPrivs": "1",
			}
			for k, v := range want {
				if st[k] != v {
					t.Errorf("plugin %s (pid %d): %s %q, want %q", p.Name, p.PID, k, st[k], v)
				}
			}
		}
		stopped, err := wedge(t, g, 15*time.Second)
		if !stopped || err != nil {
			t.Errorf("with a wedged plugin, SIGTERM: stopped %v, exit %v\n%s", stopped, err, g.logText())
		}
		if strings.Contains(g.logText(), `"level":"ERROR"`) {
			t.Errorf("errors in the log:\n%s", g.logText())
		}
	})

	for _, drop := range caps {
		t.Run("without "+drop, func(t *testing.T) {
			g := start(t, "without-"+drop, slices.DeleteFunc(slices.Clone(caps), func(c string) bool { return c == drop }))
			if !g.healthy(t) {
				err := g.err
				lines := strings.Split(strings.TrimSpace(g.logText()), "\n")
				t.Logf("needed to start: exit %v: %s", err, lines[len(lines)-1])
				if err == nil {
					t.Errorf("serve exited 0 without answering")
				}
				return
			}
			stopped, err := wedge(t, g, 8*time.Second)
			if stopped {
				t.Errorf("serve starts, runs PPTP and stops a wedged plugin without CAP_%s (exit %v): the unit's bounding set should not hold it", strings.ToUpper(drop), err)
				return
			}
			t.Logf("needed to end a wedged plugin: the gateway still runs 8s after SIGTERM")
		})
	}
}

// TestPackageReproducible: build-deb makes the same .deb twice from the
// same binary and commit (file times are the commit's, compressed files
// carry no time stamp, owners are root).
func TestPackageReproducible(t *testing.T) {
	bash := needTool(t, "bash", "bash")
	deb := debPackage(t)
	bin := filepath.Join(filepath.Dir(deb), "package", "gatehouse")
	var sums []string
	for i := range 2 {
		out := filepath.Join(t.TempDir(), strconv.Itoa(i))
		path, err := exec.Command(bash, "build-deb", "--binary", bin, "--version", "0.4.0", "--commit", "1a2b3c4d5e6f",
			"--date", "2026-12-06T23:00:00Z", "--out", out).Output()
		if err != nil {
			t.Fatalf("build-deb: %v", err)
		}
		data, err := os.ReadFile(strings.TrimSpace(string(path)))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(data)))
		time.Sleep(1100 * time.Millisecond) // a clock that leaked in would show
	}
	if sums[0] != sums[1] {
		t.Errorf("two builds of the same package differ: %s, %s", sums[0], sums[1])
	}
}
