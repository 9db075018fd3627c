package pskc

import "testing"

// BenchmarkParse measures a plaintext file, a pre-shared-key file and a
// password file (PBKDF2 with 1000 iterations dominates the last).
func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct {
		file string
		opts Options
	}{
		{"rfc6030-figure10.pskcxml", Options{}},
		{"rfc6030-figure6.pskcxml", Options{PreSharedKey: rfcPSK}},
		{"rfc6030-figure7.pskcxml", Options{Password: rfcPassword}},
	} {
		data := readTestdata(b, bm.file)
		b.Run(bm.file, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(data, bm.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
