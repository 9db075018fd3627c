package pskc

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz/FuzzParse from testdata/*.pskcxml")

// fuzzOptions are the keys of the test vectors, so that the fuzzer gets
// past decryption. The fuzzer picks one per input; MaxIterations keeps
// PBKDF2 cheap.
var fuzzOptions = []Options{
	{},
	{PreSharedKey: rfcPSK},
	{PreSharedKey: psk192},
	{PreSharedKey: psk256, AllowUnauthenticated: true},
	{PreSharedKey: kwKEK},
	{Password: rfcPassword, MaxIterations: 2000},
	{Password: pbkdf2Pass, MaxIterations: 2000},
}

// FuzzParse checks that no input panics or runs long, that failures
// return no keys and say "pskc: ", and that successes keep the package's
// promises. The seeds are the RFC 6030 figures and the other test vectors
// (testdata/fuzz/FuzzParse, kept current by TestFuzzSeedCorpus), each with
// the options that unlock it.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"><KeyPackage/></KeyContainer>`), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		opts := fuzzOptions[int(which)%len(fuzzOptions)]
		pkgs, err := Parse(data, opts)
		if err != nil {
			if pkgs != nil {
				t.Fatalf("Parse returned key packages with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "pskc: ") {
				t.Fatalf("error %q lacks the pskc: prefix", err)
			}
			var kr *KeyRequiredError
			if errors.As(err, &kr) && kr.Protection != ProtectionPreSharedKey && kr.Protection != ProtectionPassword {
				t.Fatalf("KeyRequiredError with protection %v", kr.Protection)
			}
			return
		}
		if len(pkgs) == 0 {
			t.Fatal("Parse succeeded with no key packages")
		}
		for _, kp := range pkgs {
			switch kp.Kind() {
			case "", "hotp", "totp":
			default:
				t.Fatalf("Kind() = %q", kp.Kind())
			}
			if kp.Kind() == "totp" && kp.TimeInterval <= 0 {
				t.Fatalf("TOTP key with TimeInterval %d", kp.TimeInterval)
			}
			if kp.Secret != nil && len(kp.Secret) == 0 {
				t.Fatal("empty, non-nil Secret")
			}
			if kp.UnknownPolicy && kp.PermitsOTP() {
				t.Fatal("PermitsOTP despite UnknownPolicy")
			}
			if s := fmt.Sprint(kp.Secret); s != redacted {
				t.Fatalf("Secret prints as %q", s)
			}
		}
	})
}

// TestFuzzSeedCorpus checks that testdata/fuzz/FuzzParse holds every
// testdata/*.pskcxml file in the fuzzing corpus format, with the index of
// the first fuzzOptions entry that parses it. Run with -update to rewrite
// the corpus.
func TestFuzzSeedCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.pskcxml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		which := 0 // Figure 8 parses with none
		for i, opts := range fuzzOptions {
			if _, err := Parse(data, opts); err == nil {
				which = i
				break
			}
		}
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint8(%d)\n", strconv.Quote(string(data)), which)
		seed := filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".pskcxml"))
		if *update {
			if err := os.WriteFile(seed, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(seed)
		if err != nil || string(got) != want {
			t.Errorf("%s is missing or stale (err %v); run go test -run TestFuzzSeedCorpus -update", seed, err)
		}
	}
}
