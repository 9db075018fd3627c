package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// TestTroubleshootingDoc keeps docs/troubleshooting.md honest: whatever it
// tells an operator to look for or to type exists. The marked forms, as the
// HTML comment at the top of the document describes them, are inline code
// spans outside fenced blocks:
//
//	`log: "MSG"`      a log message: a Go string literal of a non-test .go
//	                  file of the repository, exactly
//	`cause: "TEXT"`   part of a cause or reason attribute's value (those are
//	                  assembled with fmt): a substring of such a literal
//	`attr: NAME`      a log attribute key: such a literal, exactly
//	`metric: NAME`    a Prometheus metric name: such a literal, exactly
//	`key: a.b.c`      a key of examples/reference.yaml; a segment written
//	                  <name> stands for any key of a map the operator names
//	                  (services.<name>.policy)
//
// and commands: a code span, or a line of a fenced block, that starts with
// "gatehouse " names an existing sub-command path with existing flags.
// Lines of a ```json block are log lines: their "msg" is checked as a log
// message and their keys (but time, level and msg) as attributes.
func TestTroubleshootingDoc(t *testing.T) {
	const docPath = "../../docs/troubleshooting.md"
	data, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	if !strings.Contains(doc, "<!--") || !strings.Contains(doc, "`log: \"") {
		t.Fatalf("%s: no convention comment or no marked log message", docPath)
	}
	lits := troubleshootingLiterals(t, "../..")
	keys := troubleshootingReferenceKeys(t, "../../examples/reference.yaml")
	root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)

	// The convention comment shows the forms; it is not checked.
	prose := regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(doc, "")
	fence := regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```")
	var blocks [][]string
	for _, m := range fence.FindAllStringSubmatch(prose, -1) {
		blocks = append(blocks, m[1:])
	}
	prose = fence.ReplaceAllString(prose, "")

	// Each missing thing is reported once, however often it is quoted.
	reported := map[string]bool{}
	errorf := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if !reported[msg] {
			reported[msg] = true
			t.Error(msg)
		}
	}
	var commands []string
	counts := map[string]int{}
	marked := regexp.MustCompile(`^(log|cause|attr|metric|key): (.*)$`)
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(prose, -1) {
		span := m[1]
		if strings.HasPrefix(span, "gatehouse ") {
			commands = append(commands, span)
			continue
		}
		mm := marked.FindStringSubmatch(span)
		if mm == nil {
			continue
		}
		kind, val := mm[1], mm[2]
		counts[kind]++
		switch kind {
		case "log", "cause":
			s, err := strconv.Unquote(val)
			if err != nil || !strings.HasPrefix(val, `"`) {
				errorf("%s: `%s`: write the text in double quotes", docPath, span)
				continue
			}
			if kind == "log" && !lits.exact[s] {
				errorf("%s: log message %q is not a string literal of any non-test .go file", docPath, s)
			}
			if kind == "cause" && !lits.contains(s) {
				errorf("%s: cause %q is not part of any string literal of a non-test .go file", docPath, s)
			}
		case "attr":
			if !lits.exact[val] {
				errorf("%s: log attribute %q is not a string literal of any non-test .go file", docPath, val)
			}
		case "metric":
			if !lits.exact[val] {
				errorf("%s: metric %q is not a string literal of any non-test .go file", docPath, val)
			}
		case "key":
			if !keys.has(val) {
				errorf("%s: configuration key %s is not in examples/reference.yaml", docPath, val)
			}
		}
	}
	for _, b := range blocks {
		lang, body := b[0], b[1]
		for _, line := range strings.Split(body, "\n") {
			line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "$ "))
			if strings.HasPrefix(line, "gatehouse ") {
				commands = append(commands, line)
			}
			if lang != "json" || line == "" {
				continue
			}
			var entry map[string]any
			if err := json.Unmarshal([]byte(line), &entry); err != nil {
				errorf("%s: json block line is not a JSON object: %v\n%s", docPath, err, line)
				continue
			}
			msg, _ := entry["msg"].(string)
			counts["json"]++
			if !lits.exact[msg] {
				errorf("%s: log message %q of an example log line is not a string literal of any non-test .go file", docPath, msg)
			}
			for k := range entry {
				if k != "time" && k != "level" && k != "msg" && !lits.exact[k] {
					errorf("%s: attribute %q of the example log line %q is not a string literal of any non-test .go file", docPath, k, msg)
				}
			}
		}
	}
	for _, c := range commands {
		counts["command"]++
		if err := troubleshootingCheckCommand(root, c); err != "" {
			errorf("%s: command `%s`: %s", docPath, c, err)
		}
	}
	// A marker misspelt everywhere would silence its check: the document
	// uses each form.
	for _, kind := range []string{"log", "cause", "attr", "metric", "key", "command"} {
		if counts[kind] == 0 {
			errorf("%s: no %s is quoted in the checked form", docPath, kind)
		}
	}
	t.Logf("checked %v", counts)
}

// troubleshootingCheckCommand says what is wrong with a documented command
// line, or "" when it names existing sub-commands and flags.
func troubleshootingCheckCommand(root *cobra.Command, line string) string {
	if i := strings.Index(line, " #"); i >= 0 {
		line = line[:i]
	}
	words := strings.Fields(line)[1:]
	cmd := root
	for i := 0; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			if w == "-h" || w == "--help" {
				continue
			}
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := cmd.Flag(name)
			if !strings.HasPrefix(w, "--") && len(name) == 1 {
				f = cmd.Flags().ShorthandLookup(name)
				if f == nil {
					f = cmd.InheritedFlags().ShorthandLookup(name)
				}
			}
			if f == nil {
				return strconv.Quote(cmd.CommandPath()) + " has no flag " + w
			}
			if !hasValue && f.NoOptDefVal == "" {
				i++ // the flag's value
			}
			continue
		}
		if !cmd.HasSubCommands() {
			continue // an argument
		}
		var next *cobra.Command
		for _, sub := range cmd.Commands() {
			if sub.Name() == w || slices.Contains(sub.Aliases, w) {
				next = sub
			}
		}
		if next == nil {
			return strconv.Quote(cmd.CommandPath()) + " has no sub-command " + strconv.Quote(w)
		}
		cmd = next
	}
	return ""
}

// troubleshootingLits are the string literals of the repository's non-test
// Go files, and the concatenations of literals ("a" + "b").
type troubleshootingLits struct {
	exact map[string]bool
	all   []string
}

func (l troubleshootingLits) contains(s string) bool {
	for _, v := range l.all {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

func troubleshootingLiterals(t *testing.T, dir string) troubleshootingLits {
	t.Helper()
	l := troubleshootingLits{exact: map[string]bool{}}
	add := func(s string) {
		if !l.exact[s] {
			l.exact[s] = true
			l.all = append(l.all, s)
		}
	}
	var fold func(e ast.Expr) (string, bool)
	fold = func(e ast.Expr) (string, bool) {
		switch e := e.(type) {
		case *ast.BasicLit:
			if e.Kind == token.STRING {
				s, err := strconv.Unquote(e.Value)
				return s, err == nil
			}
		case *ast.ParenExpr:
			return fold(e.X)
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				x, ok1 := fold(e.X)
				y, ok2 := fold(e.Y)
				return x + y, ok1 && ok2
			}
		}
		return "", false
	}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			if e, ok := n.(ast.Expr); ok {
				if s, ok := fold(e); ok {
					add(s)
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("only %d Go files under %s: wrong directory?", files, dir)
	}
	return l
}

// troubleshootingKeys are the key paths of a YAML file, each a list of
// mapping keys from the top.
type troubleshootingKeys [][]string

// has reports whether path (a.b.c, <name> matching any one key) is a key.
func (k troubleshootingKeys) has(path string) bool {
	want := strings.Split(path, ".")
	for _, p := range k {
		if len(p) != len(want) {
			continue
		}
		ok := true
		for i := range p {
			if !(strings.HasPrefix(want[i], "<") && strings.HasSuffix(want[i], ">")) && want[i] != p[i] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func troubleshootingReferenceKeys(t *testing.T, path string) troubleshootingKeys {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var keys troubleshootingKeys
	var walk func(n *yaml.Node, prefix []string)
	walk = func(n *yaml.Node, prefix []string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := append(slices.Clone(prefix), n.Content[i].Value)
				keys = append(keys, p)
				walk(n.Content[i+1], p)
			}
		}
	}
	walk(&root, nil)
	if len(keys) < 50 {
		t.Fatalf("%s: only %d keys", path, len(keys))
	}
	return keys
}

// TestTroubleshootingDocChecker makes sure the checks above can fail.
func TestTroubleshootingDocChecker(t *testing.T) {
	root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
	for line, wantOK := range map[string]bool{
		"gatehouse sessions list --user alice --json":                   true,
		"gatehouse user add bob --group vpn-users -c gatehouse.yaml":    true,
		"gatehouse user --config gatehouse.yaml vpn bob on # comment":   true,
		"gatehouse policy eval --config=x.yaml --service pptp --user a": true,
		"gatehouse user frobnicate NAME":                                false,
		"gatehouse sessions list --no-such-flag":                        false,
		"gatehouse nosuch":                                              false,
	} {
		if got := troubleshootingCheckCommand(root, line); (got == "") != wantOK {
			t.Errorf("%s: %q, want ok %v", line, got, wantOK)
		}
	}
	keys := troubleshootingReferenceKeys(t, "../../examples/reference.yaml")
	for key, want := range map[string]bool{
		"pptp.mppe.required":       true,
		"services.<name>.policy":   true,
		"backends.<b>.options.url": true,
		"pptp.mppe":                true,
		"pptp.mppe.nosuch":         false,
		"services.pptp.nosuch":     false,
	} {
		if keys.has(key) != want {
			t.Errorf("key %s: has %v, want %v", key, !want, want)
		}
	}
	lits := troubleshootingLiterals(t, "../..")
	if !lits.exact["login refused"] || lits.exact["login refuse"] || !lits.contains("login refuse") || lits.contains("no such message anywhere, surely") {
		t.Error("string literals: exact and substring look-ups are wrong")
	}
}
