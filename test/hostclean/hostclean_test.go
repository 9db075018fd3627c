// Package hostclean checks that test/install-deps leaves the host as it
// found it: the Debian packages it installs for the tests (FreeRADIUS,
// slapd, Samba, Prometheus, ...) ship system services, and the tests start
// their own instances instead. None of those services may be enabled for
// the next boot (install-deps also keeps them from starting while it
// installs), or a system FreeRADIUS would hold UDP 1812 on an ordinary
// Debian host.
//
// install-deps records what it added in /var/lib/gatehouse-test/
// installed-packages; packages the host had before are not ours to judge.
package hostclean

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const record = "/var/lib/gatehouse-test/installed-packages"

func TestInstalledServicesStayOff(t *testing.T) {
	data, err := os.ReadFile(record)
	if os.IsNotExist(err) {
		t.Logf("%s absent: test/install-deps installed nothing on this host, nothing to check", record)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, pkg := range strings.Fields(string(data)) {
		out, err := exec.Command("dpkg", "-L", pkg).Output()
		if err != nil {
			continue // removed since
		}
		for _, f := range strings.Fields(string(out)) {
			name := filepath.Base(f)
			switch {
			case strings.HasPrefix(f, "/lib/systemd/system/") || strings.HasPrefix(f, "/usr/lib/systemd/system/"):
				if !strings.HasSuffix(name, ".service") && !strings.HasSuffix(name, ".socket") && !strings.HasSuffix(name, ".timer") {
					continue
				}
				checked++
				if links := enabledLinks("/", name); len(links) > 0 {
					t.Errorf("%s (from %s) is enabled: %v", name, pkg, links)
				}
			case strings.HasPrefix(f, "/etc/init.d/") && name != "init.d":
				checked++
				if links := bootLinks("/", name); len(links) > 0 {
					t.Errorf("init script %s (from %s) starts at boot: %v", name, pkg, links)
				}
			}
		}
	}
	t.Logf("%d units and init scripts of packages install-deps added: none enabled", checked)
}

// enabledLinks are the symlinks under root that enable the systemd unit
// name for some target.
func enabledLinks(root, name string) []string {
	links, _ := filepath.Glob(filepath.Join(root, "etc/systemd/system/*.wants", name))
	return links
}

// bootLinks are the SysV start links under root for the init script name.
func bootLinks(root, name string) []string {
	links, _ := filepath.Glob(filepath.Join(root, "etc/rc[2-5].d", "S??"+name))
	return links
}

// TestCheckSeesEnabledUnit proves the checks can fail: in a scratch root
// with freeradius.service wanted by multi-user.target and a start link
// for its init script, both are found; a disabled (K) link is not.
func TestCheckSeesEnabledUnit(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc/systemd/system/multi-user.target.wants", "etc/rc2.d", "etc/rc3.d"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"etc/systemd/system/multi-user.target.wants/freeradius.service": "/lib/systemd/system/freeradius.service",
		"etc/rc2.d/S01freeradius": "../init.d/freeradius",
		"etc/rc3.d/K01slapd":      "../init.d/slapd",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if got := enabledLinks(root, "freeradius.service"); len(got) != 1 {
		t.Errorf("enabled unit not found: %v", got)
	}
	if got := bootLinks(root, "freeradius"); len(got) != 1 {
		t.Errorf("start link not found: %v", got)
	}
	if got := bootLinks(root, "slapd"); len(got) != 0 {
		t.Errorf("a disabled (K) link counted as enabled: %v", got)
	}
}
