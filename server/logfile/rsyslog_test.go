package logfile

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rsyslogd is a real syslog daemon run by a test: Debian's rsyslog with
// its own configuration in a temporary directory, listening on its own
// socket (not /dev/log) and writing every message, with its tag, facility
// and severity as rsyslog parsed them, to out.
type rsyslogd struct {
	t         *testing.T
	bin, conf string
	dir       string
	sock      string
	out       string
	cmd       *exec.Cmd
}

// The output template: tag|facility|severity|message.
const rsyslogConf = `global(workDirectory="%[1]s")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[1]s/log.sock" CreatePath="on" RateLimit.Interval="0")
template(name="probe" type="string" string="%%syslogtag%%|%%syslogfacility-text%%|%%syslogseverity-text%%|%%msg%%\n")
*.* action(type="omfile" file="%[1]s/out.log" template="probe")
`

// startRsyslogd starts rsyslogd, or skips the test loudly when it is not
// installed and this is not root; as root (as CI runs) it fails instead.
func startRsyslogd(t *testing.T) *rsyslogd {
	t.Helper()
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		bin = "/usr/sbin/rsyslogd"
		if _, err := os.Stat(bin); err != nil {
			if os.Getuid() != 0 {
				t.Skip("SKIP: rsyslogd is not installed and this is not root: the test against a real syslog daemon does not run (apt-get install rsyslog, or run make test as root)")
			}
			t.Fatal("rsyslogd is not installed (Debian package rsyslog); test/install-deps installs it as root")
		}
	}
	// Unix socket paths are short (108 bytes): keep the directory short.
	dir, err := os.MkdirTemp("", "gh-rsyslog")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &rsyslogd{t: t, bin: bin, conf: filepath.Join(dir, "rsyslog.conf"), dir: dir,
		sock: filepath.Join(dir, "log.sock"), out: filepath.Join(dir, "out.log")}
	if err := os.WriteFile(d.conf, []byte(fmt.Sprintf(rsyslogConf, dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	d.start()
	return d
}

func (d *rsyslogd) start() {
	t := d.t
	t.Helper()
	os.Remove(d.sock)
	cmd := exec.Command(d.bin, "-n", "-f", d.conf, "-i", filepath.Join(d.dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.cmd = cmd
	t.Cleanup(d.stop)
	waitFor(t, "rsyslogd to create its socket", func() bool {
		_, err := os.Stat(d.sock)
		return err == nil
	})
}

// stop ends the rsyslogd this test started, by its process.
func (d *rsyslogd) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
}

// lines returns what rsyslogd wrote so far.
func (d *rsyslogd) lines() []string {
	b, _ := os.ReadFile(d.out)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// waitFor polls cond; the minute is a hang guard, not a speed test.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRsyslog sends through the slog handler to a real rsyslogd and reads
// what it made of each message: tag, pid, facility and severity are
// parsed from our header as the syslog(3) ones are, and the message is
// ours.
func TestRsyslog(t *testing.T) {
	d := startRsyslogd(t)
	s, err := DialSyslog(SyslogOptions{Socket: d.sock, Tag: "gatehouse", Facility: AuthPriv})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	log := slog.New(s.Handler(Text, &slog.HandlerOptions{Level: slog.LevelDebug}))
	log.Debug("debug probe", "n", 1)
	log.Info("login accepted", "user", "bob", "branch", "Password and OATH")
	log.Warn("plugin exited", "backend", "corp-ad")
	log.Error("configuration refused", "reason", `unknown back-end "OTP"`)

	want := []string{
		`authpriv|debug|msg="debug probe" n=1`,
		`authpriv|info|msg="login accepted" user=bob branch="Password and OATH"`,
		`authpriv|warning|msg="plugin exited" backend=corp-ad`,
		`authpriv|err|msg="configuration refused" reason="unknown back-end \"OTP\""`,
	}
	waitFor(t, "rsyslogd to write 4 lines", func() bool { return len(d.lines()) >= len(want) })
	tag := "gatehouse[" + strconv.Itoa(os.Getpid()) + "]:"
	lines := d.lines()
	if len(lines) != len(want) {
		t.Fatalf("rsyslogd wrote %d lines, want %d:\n%s", len(lines), len(want), strings.Join(lines, "\n"))
	}
	for i, line := range lines {
		parts := strings.SplitN(line, "|", 4)
		if len(parts) != 4 {
			t.Fatalf("rsyslogd wrote %q", line)
		}
		got := parts[1] + "|" + parts[2] + "|" + strings.TrimSpace(parts[3])
		if parts[0] != tag || got != want[i] {
			t.Errorf("line %d: tag %q, %q\nwant tag %q, %q", i, parts[0], got, tag, want[i])
		}
	}

	// rsyslogd restarts: the gateway's next lines reach the new daemon.
	d.stop()
	d.start()
	n := len(d.lines())
	i := 0
	waitFor(t, "a line to reach the restarted rsyslogd", func() bool {
		i++
		log.Info("after restart", "try", i)
		return len(d.lines()) > n
	})
	if lines := d.lines(); !strings.Contains(lines[n], `msg="after restart"`) {
		t.Errorf("after the restart rsyslogd wrote %q", lines[n])
	}
}
