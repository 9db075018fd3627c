// Command testreport runs "go test" with -json and prints what plain
// "go test" prints (a line per package, the output of failing tests), and
// keeps a list of the tests that skipped and why. "make test" runs every
// go test through it and ends with that list, so that a run as a normal
// user shows every test it did not run, and its reason, instead of hiding
// them behind passing packages (go test shows a skipped test's output
// only with -v).
//
//	testreport -skips FILE -- go test -count=1 ./...   run, append skips to FILE
//	testreport -skips FILE -summary                    print the list, or say none
//
// It exits with go test's status, or 1 when a test failed and go test
// somehow did not say so.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Time       time.Time
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64
	Output     string
}

func main() {
	skips := flag.String("skips", "", "file the skipped tests are appended to, one JSON object per line")
	summary := flag.Bool("summary", false, "print the skipped tests of -skips and exit")
	flag.Parse()
	if *summary {
		os.Exit(printSummary(os.Stdout, *skips))
	}
	args := flag.Args()
	if len(args) < 2 || args[1] != "test" {
		fmt.Fprintln(os.Stderr, "usage: testreport -skips FILE -- go test [flags] [packages]")
		os.Exit(2)
	}
	cmd := exec.Command(args[0], append([]string{"test", "-json"}, args[2:]...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	r := newReport(os.Stdout)
	r.read(out)
	werr := cmd.Wait()
	if *skips != "" && len(r.skipped) > 0 {
		if err := appendSkips(*skips, r.skipped); err != nil {
			fmt.Fprintln(os.Stderr, "testreport:", err)
		}
	}
	var ee *exec.ExitError
	switch {
	case errors.As(werr, &ee):
		os.Exit(ee.ExitCode())
	case werr != nil:
		fmt.Fprintln(os.Stderr, "testreport:", werr)
		os.Exit(2)
	case r.failed:
		os.Exit(1)
	}
}

// skip is one skipped test and what it said.
type skip struct {
	Package string `json:"package"`
	Test    string `json:"test"`
	Reason  string `json:"reason"`
}

type report struct {
	w       io.Writer
	output  map[string][]string // package + "\x00" + test → its output lines
	skipped []skip
	failed  bool
}

func newReport(w io.Writer) *report {
	return &report{w: w, output: map[string][]string{}}
}

// read consumes the event stream; a line that is not JSON (go vet's or the
// build's messages in some Go versions) is passed through.
func (r *report) read(in io.Reader) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Action == "" {
			fmt.Fprintln(r.w, sc.Text())
			continue
		}
		r.handle(e)
	}
}

func (r *report) handle(e event) {
	key := e.Package + "\x00" + e.Test
	switch e.Action {
	case "build-output":
		fmt.Fprint(r.w, e.Output)
	case "build-fail":
		r.failed = true
	case "output":
		r.output[key] = append(r.output[key], e.Output)
	case "skip":
		if e.Test != "" {
			r.skipped = append(r.skipped, skip{Package: e.Package, Test: e.Test, Reason: reason(r.output[key])})
		} else {
			// A package without tests: go test's own "?" line.
			r.packageLine(key)
		}
		delete(r.output, key)
	case "pass":
		if e.Test == "" {
			r.packageLine(key)
		}
		delete(r.output, key)
	case "fail":
		r.failed = true
		if e.Test != "" {
			for _, l := range r.output[key] {
				fmt.Fprint(r.w, l)
			}
		} else {
			r.packageLine(key)
		}
		delete(r.output, key)
	}
}

// packageLine prints a package's own output: its "ok", "FAIL" or "?"
// line, and anything it printed outside a test (TestMain, a panic).
func (r *report) packageLine(key string) {
	for _, l := range r.output[key] {
		if l == "PASS\n" {
			continue
		}
		fmt.Fprint(r.w, l)
	}
}

// reason is what a skipped test said, without go test's framing lines.
func reason(lines []string) string {
	var out []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return "(no reason given)"
	}
	return strings.Join(out, " / ")
}

func appendSkips(path string, ss []skip) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, s := range ss {
		if err := enc.Encode(s); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

func printSummary(w io.Writer, path string) int {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		return 2
	}
	var ss []skip
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var s skip
		if line != "" && json.Unmarshal([]byte(line), &s) == nil {
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 {
		fmt.Fprintln(w, "testreport: no test skipped")
		return 0
	}
	fmt.Fprintf(w, "\n*** %d tests SKIPPED; each said why (as a normal user, those needing root are among them):\n", len(ss))
	for _, s := range ss {
		fmt.Fprintf(w, "*** SKIP %s %s: %s\n", s.Package, s.Test, s.Reason)
	}
	return 0
}
