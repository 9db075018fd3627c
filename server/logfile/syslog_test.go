package logfile

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen is a stand-in syslog daemon: a Unix datagram socket.
func listen(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// TestSyslogHandler checks the datagrams: the syslog(3) header with
// facility, severity, tag and pid; the message without time or level; no
// trailing newline; attributes and groups kept.
func TestSyslogHandler(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	srv := listen(t, sock)
	s, err := DialSyslog(SyslogOptions{Socket: sock, Tag: "gh-test", Facility: Local3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head := regexp.MustCompile(`^<(\d+)>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) gh-test\[` + strconv.Itoa(os.Getpid()) + `\]: (.*)$`)
	at := time.Date(2024, 5, 1, 10, 0, 3, 0, time.Local)

	log := slog.New(s.Handler(Text, &slog.HandlerOptions{Level: slog.LevelDebug - 4})).With(slog.String("service", "vpn"))
	for _, tc := range []struct {
		level slog.Level
		pri   int
	}{
		{slog.LevelDebug - 4, 19*8 + 7},
		{slog.LevelDebug, 19*8 + 7},
		{slog.LevelInfo, 19*8 + 6},
		{slog.LevelInfo + 2, 19*8 + 5},
		{slog.LevelWarn, 19*8 + 4},
		{slog.LevelError, 19*8 + 3},
		{slog.LevelError + 4, 19*8 + 2},
	} {
		r := slog.NewRecord(at, tc.level, "login refused", 0)
		r.AddAttrs(slog.String("user", "bob"))
		if err := log.Handler().Handle(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		m := head.FindStringSubmatch(read(t, srv))
		if m == nil {
			t.Fatalf("level %v: not a syslog(3) datagram", tc.level)
		}
		if m[1] != strconv.Itoa(tc.pri) || m[2] != "May  1 10:00:03" || m[3] != `msg="login refused" service=vpn user=bob` {
			t.Errorf("level %v: pri %s time %q message %q; want pri %d", tc.level, m[1], m[2], m[3], tc.pri)
		}
	}

	jlog := slog.New(s.Handler(JSON, nil)).WithGroup("event")
	jlog.Debug("not sent: below the handler's level")
	jlog.Warn("plugin exited", "backend", "corp-ad")
	m := head.FindStringSubmatch(read(t, srv))
	if m == nil || m[1] != strconv.Itoa(19*8+4) || m[3] != `{"msg":"plugin exited","event":{"backend":"corp-ad"}}` {
		t.Errorf("JSON: %q", m)
	}

	// A plain writer (for the standard library's log package): info.
	fmt.Fprintln(s, "plain line")
	if m := head.FindStringSubmatch(read(t, srv)); m == nil || m[1] != strconv.Itoa(19*8+6) || m[3] != "plain line" {
		t.Errorf("Write: %q", m)
	}
	if st := s.Stats(); st.Sent != 9 || st.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSeverityAndFacility(t *testing.T) {
	if SeverityOf(slog.LevelInfo-1) != Debug || SeverityOf(slog.LevelWarn+1) != Warning || SeverityOf(slog.LevelError+3) != Error {
		t.Error("SeverityOf between levels")
	}
	for _, name := range []string{"user", "daemon", "auth", "authpriv", "local0", "local7"} {
		f, err := ParseFacility(name)
		if err != nil || f.String() != name {
			t.Errorf("ParseFacility(%q) = %v, %v", name, f, err)
		}
	}
	if f, _ := ParseFacility("local7"); f != 23 {
		t.Errorf("local7 is %d, want 23", f)
	}
	if _, err := ParseFacility("kern"); err == nil {
		t.Error("kern accepted")
	}
	if Facility(0).String() != "daemon" {
		t.Error("the zero facility is not daemon")
	}
	if _, err := DialSyslog(SyslogOptions{Socket: filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("DialSyslog to no daemon succeeded")
	}
}

// TestSyslogDaemonRestart: the daemon goes away and comes back on a new
// socket at the same path; Syslog reconnects, and reports the gap once.
func TestSyslogDaemonRestart(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	srv := listen(t, sock)
	var errs bytes.Buffer
	clock := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	s, err := DialSyslog(SyslogOptions{Socket: sock, Errors: &errs, now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Write([]byte("one"))
	if !strings.HasSuffix(read(t, srv), ": one") {
		t.Fatal("first message")
	}
	srv.Close()
	os.Remove(sock)
	s.Write([]byte("lost 1"))
	s.Write([]byte("lost 2"))
	srv = listen(t, sock)
	s.Write([]byte("lost 3: too soon to dial again"))
	clock = clock.Add(retryEvery)
	s.Write([]byte("two"))
	if got := read(t, srv); !strings.HasSuffix(got, ": two") {
		t.Errorf("after the restart: %q", got)
	}
	if st := s.Stats(); st.Lost != 3 || st.Sent != 2 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(errs.String(), "\n"); n != 2 || !strings.Contains(errs.String(), "3 log lines were lost") {
		t.Errorf("report:\n%s", errs.String())
	}
}

// TestSyslogNeverBlocks: a daemon that stops reading fills its queue;
// Syslog then drops lines instead of holding the gateway up.
func TestSyslogNeverBlocks(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	listen(t, sock) // never read
	var errs bytes.Buffer
	s, err := DialSyslog(SyslogOptions{Socket: sock, Errors: &errs})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1500 {
			fmt.Fprintf(s, "line %d", i)
		}
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("writing to a stuck syslog daemon blocked")
	}
	st := s.Stats()
	if st.Lost == 0 || st.Sent == 0 || st.Sent+st.Lost != 1500 {
		t.Errorf("stats %+v; want some sent, the rest lost", st)
	}
	if n := strings.Count(errs.String(), "\n"); n != 1 || !strings.Contains(errs.String(), "not keeping up") {
		t.Errorf("report: %q", errs.String())
	}
}
