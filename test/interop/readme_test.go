package interop

import (
	"net/netip"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippets keeps README.md honest: its Go example is the code
// of example_test.go (which compiles with the tests), and the pppd options
// it shows are the ones the client really runs with. (cmd/pptpvm's test
// checks the command lines.)
func TestREADMESnippets(t *testing.T) {
	readme := readFile(t, "README.md")
	blocks := regexp.MustCompile("(?s)```(\\w*)\n(.*?)```").FindAllStringSubmatch(readme, -1)

	example := map[string]bool{}
	for _, l := range strings.Split(readFile(t, "example_test.go"), "\n") {
		example[strings.TrimSpace(l)] = true
	}
	var goBlocks, optionBlocks int
	for _, b := range blocks {
		switch {
		case b[1] == "go":
			goBlocks++
			for _, l := range strings.Split(b[2], "\n") {
				if l = strings.TrimSpace(l); l != "" && !example[l] {
					t.Errorf("README.md Go example line not in example_test.go: %s", l)
				}
			}
		case strings.HasPrefix(b[2], "pty "):
			optionBlocks++
			var shown []string
			for _, l := range strings.Split(strings.TrimSpace(b[2]), "\n") {
				l, _, _ = strings.Cut(l, "←")
				if l = strings.TrimSpace(l); l != "..." {
					shown = append(shown, l)
				}
			}
			want, err := ClientOptions{User: "alice"}.PPPDOptions(netip.MustParseAddr("198.51.100.1"))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(shown, "\n"); got != strings.TrimSpace(want) {
				t.Errorf("README.md shows the pppd options\n%s\nbut the client runs with\n%s", got, want)
			}
		}
	}
	if goBlocks != 1 || optionBlocks != 1 {
		t.Errorf("README.md: %d Go blocks and %d pppd option blocks, want 1 and 1", goBlocks, optionBlocks)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
