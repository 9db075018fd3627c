package config

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that no file makes the loader panic, that every error
// points into the file unless it has no place there, and that loading is
// deterministic. The seed corpus in testdata/fuzz/FuzzParse holds the
// examples and broken files of each kind.
func FuzzParse(f *testing.F) {
	for _, path := range []string{referenceFile, quickstartFile} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, ps := Parse("f.yaml", data)
		if c == nil {
			t.Fatal("Parse returned a nil Config")
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range ps {
			_ = p.String()
			if p.File != "f.yaml" {
				t.Errorf("problem names file %q: %v", p.File, p)
			}
			if p.Line < 0 || p.Line > lines || p.Col < 0 {
				t.Errorf("position outside the file (%d lines): %v", lines, p)
			}
			if p.Severity == Error && p.Line == 0 && !placeless(c, p) {
				t.Errorf("error from a node without a line: %v", p)
			}
		}
		if _, again := Parse("f.yaml", data); !reflect.DeepEqual(ps, again) {
			t.Errorf("two parses differ:\n%v\n--\n%v", ps, again)
		}
		if ps.Err() != nil {
			return
		}
		for name, b := range c.Backends.All() {
			if b == nil || b.Name != name || !b.Pos.IsValid() {
				t.Fatalf("back-end %q not filled in: %+v", name, b)
			}
			_ = b.Info()
		}
		for name, s := range c.Services.All() {
			if s == nil || s.Name != name || !s.PolicyPos.IsValid() {
				t.Fatalf("service %q not filled in: %+v", name, s)
			}
		}
	})
}

// placeless reports whether p is one of the problems that has no node to
// point at: an empty file, a YAML error the parser could not place, or a
// default (nothing on its path was written) that clashes with the file.
func placeless(c *Config, p Problem) bool {
	switch {
	case strings.HasPrefix(p.Msg, "the file is empty"), strings.HasPrefix(p.Msg, "invalid YAML:"), strings.HasPrefix(p.Msg, "a tab in the indentation"):
		return true
	case p.Path != "" && !c.Pos(p.Path).IsValid():
		return true
	}
	return false
}
