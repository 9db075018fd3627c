package frame

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/fuzz from the seeds in the fuzz targets")

// TestSeedCorpus keeps testdata/fuzz in step with the seeds written in the
// fuzz targets: go test -run TestSeedCorpus -update rewrites the files,
// and without -update the test fails when one is missing or differs.
func TestSeedCorpus(t *testing.T) {
	seeds := map[string][][]byte{}
	for _, v := range vectors {
		seeds["FuzzParse"] = append(seeds["FuzzParse"], v.h.Append(nil))
	}
	b, _ := stream(t)
	seeds["FuzzReader"] = [][]byte{b, b[:40]}
	for _, m := range seedMessages() {
		p, err := canonical.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		seeds["FuzzUnmarshal"] = append(seeds["FuzzUnmarshal"], p)
	}
	for target, list := range seeds {
		for i, s := range list {
			path := filepath.Join("testdata", "fuzz", target, fmt.Sprintf("seed-%02d", i))
			want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != want {
				t.Errorf("%s is missing or stale: go test -run TestSeedCorpus -update ./plugins/internal/frame/", path)
			}
		}
	}
}
