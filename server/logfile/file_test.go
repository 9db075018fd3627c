package logfile

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestRotateBySize writes numbered lines into a small file: it rotates
// before a line would take it past MaxSize, keeps MaxFiles old files with
// the right lines in each, and drops the oldest.
func TestRotateBySize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.log")
	var errs bytes.Buffer
	lf, err := Open(path, Options{MaxSize: 100, MaxFiles: 3, Errors: &errs})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	for i := range 20 {
		line := fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", 21)) // 30 bytes
		if n, err := lf.Write([]byte(line)); n != len(line) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	// 3 lines (90 bytes) fit in a file; the 4th would make 120.
	want := map[string]string{path: "18 19", path + ".1": "15 16 17", path + ".2": "12 13 14", path + ".3": "09 10 11"}
	for name, lines := range want {
		var b strings.Builder
		for _, n := range strings.Fields(lines) {
			fmt.Fprintf(&b, "line %s %s\n", n, strings.Repeat("x", 21))
		}
		if got := readFile(t, name); got != b.String() {
			t.Errorf("%s:\n%s\nwant:\n%s", filepath.Base(name), got, b.String())
		}
	}
	if _, err := os.Stat(path + ".4"); !os.IsNotExist(err) {
		t.Errorf("%s.4 exists (%v); MaxFiles is 3", path, err)
	}
	if st := lf.Stats(); st.Rotations != 6 || st.Errors != 0 || st.Lost != 0 {
		t.Errorf("stats %+v; want 6 rotations, no errors", st)
	}
	if errs.Len() != 0 {
		t.Errorf("reported: %s", errs.String())
	}
	// A line longer than MaxSize is not split: it gets a file of its own.
	long := strings.Repeat("y", 150) + "\n"
	lf.Write([]byte(long))
	lf.Write([]byte("after\n"))
	if got := readFile(t, path+".1"); got != long {
		t.Errorf("the long line's file holds %q", got)
	}
	if got := readFile(t, path); got != "after\n" {
		t.Errorf("after the long line: %q", got)
	}
}

// TestNoRotation: MaxSize 0 leaves rotation to logrotate.
func TestNoRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.log")
	lf, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	line := []byte(strings.Repeat("z", 1023) + "\n")
	for range 200 {
		lf.Write(line)
	}
	if fi, _ := os.Stat(path); fi.Size() != 200*1024 || lf.Stats().Rotations != 0 {
		t.Errorf("size %d, %d rotations", fi.Size(), lf.Stats().Rotations)
	}
}

// TestReopen plays logrotate in "create" mode: rename the file away, then
// SIGUSR1 (Reopen). Lines before Reopen go to the renamed file, lines
// after it to a fresh file with the configured mode.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.log")
	lf, err := Open(path, Options{MaxSize: DefaultMaxSize, Mode: 0o640})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	lf.Write([]byte("one\n"))
	if err := os.Rename(path, path+".rotated"); err != nil {
		t.Fatal(err)
	}
	lf.Write([]byte("two\n")) // before the signal: still the open file
	if err := lf.Reopen(); err != nil {
		t.Fatal(err)
	}
	lf.Write([]byte("three\n"))
	if got := readFile(t, path+".rotated"); got != "one\ntwo\n" {
		t.Errorf("rotated file: %q", got)
	}
	if got := readFile(t, path); got != "three\n" {
		t.Errorf("new file: %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("new file's mode %v, want 0640", fi.Mode().Perm())
	}

	// logrotate created the new file itself (its "create 0600 root adm"):
	// Reopen appends to it and keeps its mode.
	os.Rename(path, path+".rotated2")
	os.WriteFile(path, []byte("header\n"), 0o600)
	lf.Reopen()
	lf.Write([]byte("four\n"))
	if got := readFile(t, path); got != "header\nfour\n" {
		t.Errorf("logrotate's file: %q", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("logrotate's file's mode changed to %v", fi.Mode().Perm())
	}
}

// TestConcurrentWholeLines has many goroutines write lines of varied
// length while the file rotates: every line arrives whole, exactly once.
func TestConcurrentWholeLines(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.log")
	lf, err := Open(path, Options{MaxSize: 4096, MaxFiles: 10000})
	if err != nil {
		t.Fatal(err)
	}
	const writers, lines = 8, 400
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				fmt.Fprintf(lf, "g%d n%d %s\n", g, i, strings.Repeat("x", (g*7+i*13)%300))
			}
		}()
	}
	wg.Wait()
	lf.Close()

	seen := map[string]bool{}
	re := regexp.MustCompile(`^g(\d+) n(\d+) (x*)$`)
	files, _ := filepath.Glob(path + "*")
	for _, name := range files {
		f, _ := os.Open(name)
		sc := bufio.NewScanner(f)
		size := 0
		for sc.Scan() {
			size += len(sc.Bytes()) + 1
			m := re.FindStringSubmatch(sc.Text())
			if m == nil {
				t.Fatalf("%s: a broken line: %q", filepath.Base(name), sc.Text())
			}
			var g, i int
			fmt.Sscan(m[1], &g)
			fmt.Sscan(m[2], &i)
			if len(m[3]) != (g*7+i*13)%300 {
				t.Fatalf("%s: line %q has lost bytes", filepath.Base(name), sc.Text())
			}
			key := m[1] + "/" + m[2]
			if seen[key] {
				t.Fatalf("line %s twice", key)
			}
			seen[key] = true
		}
		f.Close()
		if size > 4096 {
			t.Errorf("%s has %d bytes; MaxSize is 4096", filepath.Base(name), size)
		}
	}
	if len(seen) != writers*lines {
		t.Errorf("%d lines of %d arrived, in %d files", len(seen), writers*lines, len(files))
	}
}

// TestWriteErrors proves a failing file neither fails the writer nor
// floods the report: one report when it starts failing, one when it
// works again, with the number of lines lost.
func TestWriteErrors(t *testing.T) {
	// A full disk.
	var errs bytes.Buffer
	full, err := Open("/dev/full", Options{Errors: &errs})
	if err != nil {
		t.Skipf("SKIP: /dev/full: %v", err)
	}
	for range 3 {
		if n, err := full.Write([]byte("line\n")); n != 5 || err != nil {
			t.Fatalf("Write = %d, %v; a failure must not reach the caller", n, err)
		}
	}
	full.Close()
	if st := full.Stats(); st.Errors != 3 || st.Lost != 3 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(errs.String(), "\n"); n != 1 || !strings.Contains(errs.String(), "no space left on device") {
		t.Errorf("reported %d times: %q", n, errs.String())
	}

	// The directory vanishes, so Reopen fails; it comes back, and the
	// next write after the retry delay works.
	clock := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	errs.Reset()
	dir := filepath.Join(t.TempDir(), "log")
	os.Mkdir(dir, 0o755)
	path := filepath.Join(dir, "gatehouse.log")
	lf, err := Open(path, Options{Errors: &errs, now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	os.RemoveAll(dir)
	if err := lf.Reopen(); err == nil {
		t.Fatal("Reopen into a missing directory succeeded")
	}
	lf.Write([]byte("lost 1\n"))
	lf.Write([]byte("lost 2\n"))
	os.Mkdir(dir, 0o755)
	lf.Write([]byte("lost 3: too soon to retry\n"))
	clock = clock.Add(retryEvery)
	lf.Write([]byte("back\n"))
	if got := readFile(t, path); got != "back\n" {
		t.Errorf("after recovery: %q", got)
	}
	report := errs.String()
	if strings.Count(report, "\n") != 2 || !strings.Contains(report, "reopen") || !strings.Contains(report, "3 log lines were lost") {
		t.Errorf("report:\n%s", report)
	}
	if st := lf.Stats(); st.Lost != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestRotationFailure: when the file cannot be renamed (here: path.1 is a
// non-empty directory), lines go on into the current file and the failure
// is reported once.
func TestRotationFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gatehouse.log")
	var errs bytes.Buffer
	clock := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	lf, err := Open(path, Options{MaxSize: 10, MaxFiles: 1, Errors: &errs, now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	os.MkdirAll(filepath.Join(path+".1", "blocker"), 0o755)
	for i := range 5 {
		fmt.Fprintf(lf, "line %d\n", i)
	}
	if got := readFile(t, path); got != "line 0\nline 1\nline 2\nline 3\nline 4\n" {
		t.Errorf("file: %q", got)
	}
	if n := strings.Count(errs.String(), "\n"); n != 1 || !strings.Contains(errs.String(), "cannot rotate") {
		t.Errorf("report: %q", errs.String())
	}
	// A minute later, with the obstacle gone, rotation works again.
	os.RemoveAll(path + ".1")
	clock = clock.Add(time.Minute)
	lf.Write([]byte("line 5\n"))
	if got := readFile(t, path); got != "line 5\n" {
		t.Errorf("after rotating: %q", got)
	}
	if !strings.Contains(errs.String(), "rotation works again") {
		t.Errorf("report: %q", errs.String())
	}
}
