package otp_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

// The RFC seeds: ASCII digits, one length per hash (RFC 6238 Appendix B).
var (
	seed20 = []byte("12345678901234567890")
	seed32 = []byte("12345678901234567890123456789012")
	seed64 = []byte("1234567890123456789012345678901234567890123456789012345678901234")
)

// vectors reads a testdata table: one vector a line, fields separated by
// blanks, '#' starts a comment line.
func vectors(t *testing.T, name string, fields, want int) [][]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		row := strings.Fields(line)
		if len(row) != fields {
			t.Fatalf("%s: %q has %d fields, want %d", name, line, len(row), fields)
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// A truncated file must not pass by testing less.
	if len(rows) != want {
		t.Fatalf("%s holds %d vectors, want %d", name, len(rows), want)
	}
	return rows
}

// TestRFC4226 checks Appendix D of RFC 4226: HOTP-SHA1, 6 digits,
// counters 0 to 9.
func TestRFC4226(t *testing.T) {
	p := otp.Params{Kind: otp.HOTP, Algorithm: otp.SHA1, Digits: 6}
	for _, v := range vectors(t, "rfc4226.txt", 2, 10) {
		counter, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := otp.Code(seed20, p, counter); got != v[1] {
			t.Errorf("HOTP(counter %d) = %s, want %s", counter, got, v[1])
		}
	}
}

// TestRFC6238 checks Appendix B of RFC 6238: TOTP with SHA-1, SHA-256
// and SHA-512, 8 digits, X = 30 s, T0 = 0, including the step T.
func TestRFC6238(t *testing.T) {
	seeds := map[string][]byte{"SHA1": seed20, "SHA256": seed32, "SHA512": seed64}
	for _, v := range vectors(t, "rfc6238.txt", 4, 18) {
		t.Run(v[3]+"@"+v[0], func(t *testing.T) {
			unix, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			wantStep, err := strconv.ParseInt(v[1], 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			alg, err := otp.ParseAlgorithm(v[3])
			if err != nil {
				t.Fatal(err)
			}
			p := otp.Params{Kind: otp.TOTP, Algorithm: alg, Digits: 8, Period: 30 * time.Second}
			now := time.Unix(unix, 0)
			step := otp.Step(p, now)
			if step != wantStep {
				t.Fatalf("Step(%d) = %X, want %X", unix, step, wantStep)
			}
			if got := otp.Code(seeds[v[3]], p, uint64(step)); got != v[2] {
				t.Errorf("TOTP = %s, want %s", got, v[2])
			}
			// The same code, found the way a login finds it.
			cands := otp.Candidates(seeds[v[3]], p, otp.State{LastStep: -1}, otp.Window{}, now)
			if c, ok := otp.Match(cands, v[2]); !ok || c.Counter != uint64(wantStep) {
				t.Errorf("Match(Candidates at %d, %s) = step %d, %v; want step %d", unix, v[2], c.Counter, ok, wantStep)
			}
		})
	}
}
