package otp_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/otp"
)

// oathtool runs the OATH Toolkit's oathtool (Debian package oathtool) with
// args and the secret, and returns the code it prints. The secret goes in
// on standard input, hex-encoded, never on the command line. Without
// oathtool the test is skipped, loudly; CI installs it.
func oathtool(t *testing.T, secret []byte, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("oathtool")
	if err != nil {
		if os.Geteuid() == 0 {
			// As root (as CI runs) nothing may be skipped: make test's
			// test/install-deps installs oathtool.
			t.Fatal("oathtool not installed; run test/install-deps (make test does) or apt-get install oathtool")
		}
		t.Skip("SKIP: oathtool not installed (apt-get install oathtool); reference-code test not run")
	}
	cmd := exec.Command(path, append(args, "-")...)
	cmd.Stdin = strings.NewReader(hex.EncodeToString(secret))
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("oathtool %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("oathtool %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// Secrets of the lengths tokens use, and one longer than a SHA-1/SHA-256
// block, which HMAC hashes before use.
var refSecrets = map[string][]byte{
	"10B":  []byte("\x3d\xc6\xca\xa4\x82\x4a\x6d\x28\x87\x67"),
	"20B":  seed20,
	"32B":  seed32,
	"64B":  seed64,
	"100B": []byte(strings.Repeat("gatehouse!", 10)),
}

// TestOathtoolHOTP compares Code with oathtool's HOTP. oathtool computes
// HOTP with SHA-1 only; for SHA-256 and SHA-512 it is asked for TOTP with
// a 1 s step from T0 = 0 at time N, which is HOTP at counter N by
// definition (RFC 6238 section 4.2: TOTP = HOTP(K, T)).
func TestOathtoolHOTP(t *testing.T) {
	counters := []uint64{0, 1, 9, 10, 255, 256, 65536, 1<<32 + 5, 4102444800}
	for name, secret := range refSecrets {
		for _, alg := range []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512} {
			for _, digits := range []int{6, 7, 8} {
				p := otp.Params{Kind: otp.HOTP, Algorithm: alg, Digits: digits}
				for _, c := range counters {
					var args []string
					if alg == otp.SHA1 {
						args = []string{"--hotp", "-c", strconv.FormatUint(c, 10)}
					} else {
						args = []string{"--totp=" + alg.String(), "-s", "1s", "-N", "@" + strconv.FormatUint(c, 10)}
					}
					args = append(args, "-d", strconv.Itoa(digits))
					want := oathtool(t, secret, args...)
					if got := otp.Code(secret, p, c); got != want {
						t.Errorf("%s %s %d digits counter %d: Code = %s, oathtool %s = %s",
							name, alg, digits, c, got, strings.Join(args, " "), want)
					}
				}
			}
		}
	}
}

// TestOathtoolTOTP compares Step and Code with oathtool's TOTP, for every
// hash, 6 and 8 digits, 30 s and 60 s steps, T0 = 0 and T0 = 1000, at
// times on and off step boundaries.
func TestOathtoolTOTP(t *testing.T) {
	times := []int64{1000, 1029, 1030, 59, 1111111109, 1700000000, 1700000029, 2000000000, 4102444800}
	for name, secret := range refSecrets {
		for _, alg := range []otp.Algorithm{otp.SHA1, otp.SHA256, otp.SHA512} {
			for _, digits := range []int{6, 8} {
				for _, period := range []time.Duration{30 * time.Second, 60 * time.Second} {
					for _, t0 := range []int64{0, 1000} {
						p := otp.Params{Kind: otp.TOTP, Algorithm: alg, Digits: digits, Period: period, T0: t0}
						for _, unix := range times {
							if unix < t0 {
								continue
							}
							args := []string{"--totp=" + alg.String(), "-d", strconv.Itoa(digits),
								"-s", period.String(), "-S", "@" + strconv.FormatInt(t0, 10),
								"-N", "@" + strconv.FormatInt(unix, 10)}
							want := oathtool(t, secret, args...)
							got := otp.Code(secret, p, uint64(otp.Step(p, time.Unix(unix, 0))))
							if got != want {
								t.Errorf("%s: Code(Step) = %s, oathtool %s = %s", name, got, strings.Join(args, " "), want)
							}
						}
					}
				}
			}
		}
	}
}
