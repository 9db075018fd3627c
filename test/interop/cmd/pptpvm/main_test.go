package main

import (
	"os"
	"strings"
	"testing"
)

// TestREADMECommands parses every pptpvm command line of
// test/interop/README.md with the command's real flag set, so the README
// cannot show a flag that does not exist.
func TestREADMECommands(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "/tmp/pptpvm ") {
			continue
		}
		n++
		line, _, _ = strings.Cut(line, "#")
		words := shellWords(strings.TrimSuffix(strings.TrimSpace(line), "&"))
		c := newCommand(words[1])
		if c == nil {
			t.Errorf("README: unknown command in %q", line)
			continue
		}
		if err := c.fs.Parse(words[2:]); err != nil || c.fs.NArg() > 0 {
			t.Errorf("README: %q: %v %v", line, err, c.fs.Args())
		}
	}
	if n < 5 {
		t.Errorf("found %d pptpvm command lines in the README; the test looks in the wrong place", n)
	}
}

// shellWords splits a command line on blanks, honouring single quotes.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	quoted, inWord := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

func TestUnknownFlag(t *testing.T) {
	c := newCommand("client")
	c.fs.SetOutput(new(strings.Builder))
	if err := c.parse([]string{"-no-such-flag"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
	if err := newCommand("client").parse([]string{"-password", "x"}); err == nil || !strings.Contains(err.Error(), "-user") {
		t.Errorf("client without -user: %v", err)
	}
	if newCommand("nope") != nil {
		t.Error("unknown command accepted")
	}
}
