package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocGoCommands: the go test commands the documentation quotes (the
// benchmark commands of docs/performance.md above all) name package
// directories that exist, and their -bench and -run patterns match a
// benchmark or test in those packages, so a moved package or a renamed
// benchmark does not leave a command that runs nothing.
func TestDocGoCommands(t *testing.T) {
	checked := 0
	for _, d := range loadDocs(t) {
		cmds, where := d.goTestCommands()
		for i, c := range cmds {
			checked++
			for _, p := range goCommandProblems(docsRoot, c) {
				t.Errorf("%s: %s: %s", where[i], c, p)
			}
		}
	}
	if checked < 15 {
		t.Errorf("only %d go test commands found: the test looks in the wrong place", checked)
	}
	t.Logf("%d go test commands checked", checked)
}

// goTestCommands are the code spans and the lines of sh blocks that run
// go test, or continue such a command ("-bench X ./pkg/" in a table).
func (d docFile) goTestCommands() (cmds, where []string) {
	keep := func(s, w string) {
		s = strings.Join(strings.Fields(s), " ")
		if strings.Contains(s, "go test ") || strings.HasPrefix(s, "-bench ") || strings.HasPrefix(s, "-run ") {
			cmds = append(cmds, s)
			where = append(where, w)
		}
	}
	for _, b := range d.blocks {
		if !slices.Contains([]string{"sh", "shell", "bash", "console"}, b.lang) {
			continue
		}
		for _, line := range strings.Split(strings.ReplaceAll(b.body, "\\\n", " "), "\n") {
			keep(line, fmt.Sprintf("%s (block at line %d)", d.path, b.line))
		}
	}
	spans, lines := d.codeSpans()
	for i, s := range spans {
		keep(s, fmt.Sprintf("%s:%d", d.path, lines[i]))
	}
	return cmds, where
}

var goTestFuncRE = regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)\w*)\(`)

// goCommandProblems checks one go test command against the tree at root.
func goCommandProblems(root, cmd string) []string {
	var problems []string
	words := strings.Fields(cmd)
	var dirs []string // package directories without "..."
	var funcs []string
	for _, w := range words {
		if !strings.HasPrefix(w, "./") {
			continue
		}
		dir, all := strings.CutSuffix(strings.TrimSuffix(w, "/"), "/...")
		if w == "./..." {
			dir, all = ".", true
		}
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("package %s does not exist", w))
			continue
		}
		if all {
			continue
		}
		dirs = append(dirs, dir)
		hasGo := false
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") {
				continue
			}
			hasGo = true
			if strings.HasSuffix(e.Name(), "_test.go") {
				data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(dir), e.Name()))
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				for _, m := range goTestFuncRE.FindAllStringSubmatch(string(data), -1) {
					funcs = append(funcs, m[1])
				}
			}
		}
		if !hasGo {
			problems = append(problems, fmt.Sprintf("%s holds no Go package", w))
		}
	}
	if len(dirs) == 0 {
		return problems // ./... or no package named: nothing to match names against
	}
	for i := 0; i+1 < len(words); i++ {
		flag := words[i]
		if flag != "-bench" && flag != "-run" {
			continue
		}
		pattern := strings.Trim(words[i+1], `'"`)
		if pattern == "^$" || pattern == "." {
			continue
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", flag, pattern, err))
			continue
		}
		prefix := "Benchmark"
		if flag == "-run" {
			prefix = "Test"
		}
		found := false
		for _, f := range funcs {
			// go test matches the pattern against the whole name.
			found = found || (strings.HasPrefix(f, prefix) && re.MatchString(f))
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s %s matches no %s function in %s", flag, pattern, prefix, strings.Join(dirs, " ")))
		}
	}
	return problems
}

// TestDocPackageMap: the package table of docs/design.md lists exactly the
// packages "go list ./..." lists.
func TestDocPackageMap(t *testing.T) {
	out, err := exec.Command("go", "list", "-C", docsRoot, "./...").Output()
	if err != nil {
		t.Fatalf("go list ./...: %v", err)
	}
	const module = "github.com/gatehouse-vpn/gatehouse/"
	var listed []string
	for _, p := range strings.Fields(string(out)) {
		listed = append(listed, strings.TrimPrefix(p, module))
	}
	data, err := os.ReadFile(filepath.Join(docsRoot, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	var mapped []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9_/.-]+)` \\|").FindAllStringSubmatch(string(data), -1) {
		mapped = append(mapped, m[1])
	}
	for _, p := range listed {
		if !slices.Contains(mapped, p) {
			t.Errorf("docs/design.md: package %s is not in the package map", p)
		}
	}
	for _, p := range mapped {
		if !slices.Contains(listed, p) {
			t.Errorf("docs/design.md: the package map lists %s, which go list ./... does not", p)
		}
	}
	if len(mapped) < 40 {
		t.Errorf("only %d packages in the map: the test looks in the wrong place", len(mapped))
	}
}

// TestDocGoCommandsChecker makes sure the go test check can fail.
func TestDocGoCommandsChecker(t *testing.T) {
	for cmd, wantOK := range map[string]bool{
		"go test -run '^$' -bench . -benchmem ./authpolicy/ ./authpolicy/mschapv2/": true,
		"-bench Evaluate ./authpolicy/":                                             true,
		"go test -count=1 -run TestDocGoCommandsChecker ./cmd/gatehouse/":           true,
		"go test ./server/...":                                                      true,
		"-bench Candidates ./no/such/package/":                                      false,
		"-bench NoSuchBenchmark ./authpolicy/":                                      false,
		"go test -run TestNoSuchTest ./cmd/gatehouse/":                              false,
		"go test ./docs/":                                                           false,
	} {
		if problems := goCommandProblems(docsRoot, cmd); (len(problems) == 0) != wantOK {
			t.Errorf("%s: problems %q, want ok %v", cmd, problems, wantOK)
		}
	}
}
