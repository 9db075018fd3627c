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
				if links, _ := filepath.Glob("/etc/systemd/system/*.wants/" + name); len(links) > 0 {
					t.Errorf("%s (from %s) is enabled: %v", name, pkg, links)
				}
			case strings.HasPrefix(f, "/etc/init.d/") && name != "init.d":
				checked++
				if links, _ := filepath.Glob("/etc/rc[2-5].d/S*" + name); len(links) > 0 {
					t.Errorf("init script %s (from %s) starts at boot: %v", name, pkg, links)
				}
			}
		}
	}
	t.Logf("%d units and init scripts of packages install-deps added: none enabled", checked)
}

// TestCheckSeesEnabledUnit proves the check can fail: a unit the host
// enables (any at all under /etc/systemd/system/*.wants) is found by the
// same glob.
func TestCheckSeesEnabledUnit(t *testing.T) {
	links, _ := filepath.Glob("/etc/systemd/system/*.wants/*")
	if len(links) == 0 {
		t.Log("no enabled unit on this host to prove the glob against")
		return
	}
	name := filepath.Base(links[0])
	if found, _ := filepath.Glob("/etc/systemd/system/*.wants/" + name); len(found) == 0 {
		t.Fatalf("glob misses %s", links[0])
	}
}
