package logfile

import (
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logrotateRule is the logrotate rule shown in doc.go.
func logrotateRule(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var rule []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		body, ok := strings.CutPrefix(line, "//\t")
		if strings.HasPrefix(body, "/var/log/gatehouse/") {
			in = true
		}
		if in {
			if !ok {
				t.Fatal("the logrotate rule in doc.go does not end with }")
			}
			rule = append(rule, body)
			if body == "}" {
				return strings.Join(rule, "\n") + "\n"
			}
		}
	}
	t.Fatal("no logrotate rule in doc.go")
	return ""
}

// TestLogrotate runs the rule from the package documentation with the real
// logrotate, in its "create" mode, against a File: the postrotate signal
// makes the File reopen, and lines go on into the new file.
func TestLogrotate(t *testing.T) {
	bin, err := exec.LookPath("logrotate")
	if err != nil {
		bin = "/usr/sbin/logrotate"
		if _, err := os.Stat(bin); err != nil {
			if os.Getuid() != 0 {
				t.Skip("SKIP: logrotate is not installed and this is not root: the documented logrotate rule is not tried (apt-get install logrotate, or run make test as root)")
			}
			t.Fatal("logrotate is not installed (Debian package logrotate); test/install-deps installs it as root")
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.log")
	rule := logrotateRule(t)
	rule = strings.Replace(rule, "/var/log/gatehouse/gatehouse.log", path, 1)
	rule = strings.Replace(rule, "systemctl kill -s USR1 gatehouse.service", "kill -USR1 "+strconv.Itoa(os.Getpid()), 1)
	if os.Getuid() != 0 {
		// Only root may give files away; keep the rule otherwise.
		u, _ := user.Current()
		g, _ := user.LookupGroupId(strconv.Itoa(os.Getgid()))
		rule = strings.Replace(rule, "create 0640 root adm", "create 0640 "+u.Username+" "+g.Name, 1)
	}
	conf := filepath.Join(dir, "logrotate.conf")
	os.WriteFile(conf, []byte(rule), 0o644)

	lf, err := Open(path, Options{}) // max_size 0: rotation is logrotate's
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	// What the gateway does on SIGUSR1.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	defer signal.Stop(sig)
	reopened := make(chan error, 1)
	go func() {
		<-sig
		reopened <- lf.Reopen()
	}()

	lf.Write([]byte("before\n"))
	out, err := exec.Command(bin, "-f", "-s", filepath.Join(dir, "state"), conf).CombinedOutput()
	if err != nil {
		t.Fatalf("logrotate: %v\n%s\nrule:\n%s", err, out, rule)
	}
	select {
	case err := <-reopened:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("no SIGUSR1 from logrotate's postrotate")
	}
	lf.Write([]byte("after\n"))

	if got := readFile(t, path+".1"); got != "before\n" {
		t.Errorf("rotated file: %q", got)
	}
	if got := readFile(t, path); got != "after\n" {
		t.Errorf("new file: %q", got)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("logrotate created the new file with mode %v, the rule says 0640", fi.Mode().Perm())
	}
	if os.Getuid() == 0 {
		if g, err := user.LookupGroup("adm"); err == nil && strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Gid)) != g.Gid {
			t.Errorf("new file's group is %d, the rule says adm", fi.Sys().(*syscall.Stat_t).Gid)
		}
	}
}
