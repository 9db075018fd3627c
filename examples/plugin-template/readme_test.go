package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippets keeps README.md's quotations of this plugin honest:
// its users-file example is testdata/partners.txt, and the error it quotes
// for a malformed line is the one parseUsers gives. The gateway's side of
// the README (configuration, config check, policy eval) is run by
// TestTemplatePlugin in the Gatehouse module, cmd/gatehouse.
func TestREADMESnippets(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	testdata, err := os.ReadFile("testdata/partners.txt")
	if err != nil {
		t.Fatal(err)
	}

	example := regexp.MustCompile("(?s)## The users file.*?```text\n(.*?)```").FindStringSubmatch(readme)
	if example == nil {
		t.Fatal("no users-file example in README.md")
	}
	users, err := parseUsers("README.md", strings.NewReader(example[1]))
	if err != nil || len(users) == 0 {
		t.Fatalf("the users-file example does not parse: %v", err)
	}
	for l := range strings.Lines(example[1]) {
		if !strings.HasPrefix(l, "#") && !strings.Contains(string(testdata), l) {
			t.Errorf("README line %q is not in testdata/partners.txt (whose comment gives the passwords)", strings.TrimSpace(l))
		}
	}

	quoted := regexp.MustCompile(`rejected its configuration: (users_file (/\S+):\d+: user "partner3": .*)`).FindStringSubmatch(readme)
	if quoted == nil {
		t.Fatal("no quoted malformed-line error in README.md")
	}
	_, err = parseUsers(quoted[2], strings.NewReader(example[1]+"partner3:correct horse battery staple\n"))
	if err == nil || err.Error() != quoted[1] {
		t.Errorf("README quotes\n  %s\nparseUsers says\n  %v", quoted[1], err)
	}
}
