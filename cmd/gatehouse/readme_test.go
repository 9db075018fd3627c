package main

import (
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// TestREADMESnippets keeps the README honest: its configuration example
// loads, its policy commands run, and its quick-start login is accepted.
func TestREADMESnippets(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	yamlBlocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readme, -1)
	if len(yamlBlocks) == 0 {
		t.Fatal("no yaml block in README.md")
	}
	for _, m := range yamlBlocks {
		cfg, ps := config.Parse("README.md", []byte(m[1]))
		_, pps := cfg.CheckPolicies()
		if errs := append(ps, pps...).Errors(); len(errs) > 0 {
			t.Errorf("README yaml block does not load:\n%s\n%v", m[1], errs)
		}
	}
	// The quick-start login, as written (joined continuation lines).
	m := regexp.MustCompile(`echo '([^']+)' \| bin/gatehouse (policy eval \\\n\s+.*--secret-stdin)`).FindStringSubmatch(readme)
	if m == nil {
		t.Fatal("quick-start policy eval snippet not found in README.md")
	}
	args := strings.Fields(strings.ReplaceAll(m[2], "\\\n", " "))
	for i, a := range args {
		if a == "examples/quickstart/gatehouse.yaml" {
			args[i] = "../../" + a
		}
	}
	code, out, stderr := gh(t, m[1]+"\n", args...)
	if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "Demo and Codes"`) {
		t.Errorf("quick-start login: exit %d\n%s%s", code, out, stderr)
	}
	// Every "gatehouse policy explain" line runs.
	for _, m := range regexp.MustCompile(`(?m)^gatehouse policy explain "([^"]+)"`).FindAllStringSubmatch(readme, -1) {
		if code, _, stderr := gh(t, "", "policy", "explain", m[1]); code != 0 {
			t.Errorf("policy explain %q: exit %d %s", m[1], code, stderr)
		}
	}
}

// TestREADMECommands: every gatehouse command line in the README's sh
// blocks names sub-commands and flags that exist.
func TestREADMECommands(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
	lineRE := regexp.MustCompile(`(?:^|\| |sudo )(?:bin/)?gatehouse (.*)$`)
	checked := 0
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(data), -1) {
		text := strings.ReplaceAll(block[1], "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			m := lineRE.FindStringSubmatch(strings.TrimSpace(line))
			if m == nil {
				continue
			}
			checked++
			if problem := troubleshootingCheckCommand(root, "gatehouse "+m[1]); problem != "" {
				t.Errorf("README: %s: %s", strings.TrimSpace(line), problem)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d gatehouse command lines found in the README's sh blocks", checked)
	}
}
