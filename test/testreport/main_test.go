package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A canned go test -json stream: one package passes with a skipped test,
// one fails, one has no tests.
const stream = `{"Action":"start","Package":"a"}
{"Action":"run","Package":"a","Test":"TestRoot"}
{"Action":"output","Package":"a","Test":"TestRoot","Output":"=== RUN   TestRoot\n"}
{"Action":"output","Package":"a","Test":"TestRoot","Output":"    a_test.go:9: SKIP: needs root\n"}
{"Action":"output","Package":"a","Test":"TestRoot","Output":"--- SKIP: TestRoot (0.00s)\n"}
{"Action":"skip","Package":"a","Test":"TestRoot"}
{"Action":"output","Package":"a","Output":"PASS\n"}
{"Action":"output","Package":"a","Output":"ok  \ta\t0.01s\n"}
{"Action":"pass","Package":"a"}
{"Action":"output","Package":"b","Test":"TestBad","Output":"    b_test.go:3: wrong\n"}
{"Action":"fail","Package":"b","Test":"TestBad"}
{"Action":"output","Package":"b","Test":"TestGood","Output":"    b_test.go:5: quiet\n"}
{"Action":"pass","Package":"b","Test":"TestGood"}
{"Action":"output","Package":"b","Output":"FAIL\tb\t0.02s\n"}
{"Action":"fail","Package":"b"}
{"Action":"output","Package":"c","Output":"?   \tc\t[no test files]\n"}
{"Action":"skip","Package":"c"}
not json from the build
`

func TestReport(t *testing.T) {
	var out bytes.Buffer
	r := newReport(&out)
	r.read(strings.NewReader(stream))
	want := "ok  \ta\t0.01s\n    b_test.go:3: wrong\nFAIL\tb\t0.02s\n?   \tc\t[no test files]\nnot json from the build\n"
	if out.String() != want {
		t.Errorf("printed\n%q\nwant\n%q", out.String(), want)
	}
	if !r.failed {
		t.Error("failure not noticed")
	}
	if len(r.skipped) != 1 || r.skipped[0].Test != "TestRoot" || r.skipped[0].Reason != "a_test.go:9: SKIP: needs root" {
		t.Errorf("skipped %+v", r.skipped)
	}
	file := filepath.Join(t.TempDir(), "skips")
	if err := appendSkips(file, r.skipped); err != nil {
		t.Fatal(err)
	}
	// printSummary writes to the writer it is given.
	var sum bytes.Buffer
	printSummary(&sum, file)
	if !strings.Contains(sum.String(), "*** 1 tests SKIPPED;") || !strings.Contains(sum.String(), "*** SKIP a TestRoot: a_test.go:9: SKIP: needs root") {
		t.Errorf("summary %q", sum.String())
	}
	sum.Reset()
	printSummary(&sum, filepath.Join(t.TempDir(), "none"))
	if sum.String() != "testreport: no test skipped\n" {
		t.Errorf("empty summary %q", sum.String())
	}
	_ = os.Remove(file)
}
