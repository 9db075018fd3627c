package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// The documentation these tests keep honest: README.md and every
// docs/*.md, read from the repository root. A fenced ```yaml block is a
// configuration that must load, unless the line before its fence is one of
//
//	<!-- not-a-config: why -->   not Gatehouse's configuration at all (a
//	                             Prometheus scrape configuration, a partial
//	                             snippet): skipped, counted and reported
//	<!-- config-error: why -->   a configuration shown because Gatehouse
//	                             refuses it: it must fail to load
const docsRoot = "../.."

// docFile is one Markdown file, split into fenced blocks and prose.
type docFile struct {
	path   string // relative to the repository root, with slashes
	text   string
	blocks []docBlock
	// prose is the text outside fenced blocks with HTML comments blanked
	// out; it has as many lines as text, so line numbers carry over.
	prose string
}

// docBlock is a fenced code block.
type docBlock struct {
	line   int // of the opening fence, from 1
	lang   string
	body   string
	marker string // "not-a-config", "config-error" or ""
}

// docPaths are README.md and docs/*.md, relative to the repository root.
func docPaths(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(docsRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"README.md"}
	for _, d := range docs {
		paths = append(paths, "docs/"+filepath.Base(d))
	}
	if len(paths) < 2 {
		t.Fatalf("no docs/*.md under %s: wrong directory?", docsRoot)
	}
	return paths
}

// loadDocs reads and splits README.md and docs/*.md.
func loadDocs(t *testing.T) []docFile {
	t.Helper()
	var docs []docFile
	for _, p := range docPaths(t) {
		data, err := os.ReadFile(filepath.Join(docsRoot, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, parseDoc(p, string(data)))
	}
	return docs
}

var (
	docFenceRE   = regexp.MustCompile("^ {0,3}(```+|~~~+)[ \t]*([A-Za-z0-9_+-]*)")
	docMarkerRE  = regexp.MustCompile(`^<!--\s*(not-a-config|config-error)\b[^>]*-->$`)
	docCommentRE = regexp.MustCompile(`(?s)<!--.*?-->`)
)

// parseDoc splits a Markdown file into its fenced blocks and its prose.
func parseDoc(path, text string) docFile {
	d := docFile{path: path, text: text}
	lines := strings.Split(text, "\n")
	prose := make([]string, len(lines))
	for i := 0; i < len(lines); i++ {
		m := docFenceRE.FindStringSubmatch(lines[i])
		if m == nil {
			prose[i] = lines[i]
			continue
		}
		b := docBlock{line: i + 1, lang: m[2]}
		for j := i - 1; j >= 0; j-- {
			if prev := strings.TrimSpace(lines[j]); prev != "" {
				if mm := docMarkerRE.FindStringSubmatch(prev); mm != nil {
					b.marker = mm[1]
				}
				break
			}
		}
		var body []string
		j := i + 1
		for ; j < len(lines); j++ {
			if t := strings.TrimSpace(lines[j]); strings.HasPrefix(t, m[1]) && strings.Trim(t, m[1][:1]) == "" {
				break
			}
			body = append(body, lines[j])
		}
		if len(body) > 0 {
			b.body = strings.Join(body, "\n") + "\n"
		}
		d.blocks = append(d.blocks, b)
		i = j // the closing fence (or the end)
	}
	d.prose = docCommentRE.ReplaceAllStringFunc(strings.Join(prose, "\n"), func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n"))
	})
	return d
}

// lineOf is the line number, from 1, of byte offset off in s.
func lineOf(s string, off int) int { return strings.Count(s[:off], "\n") + 1 }

var docCodeSpanRE = regexp.MustCompile("`([^`]+)`")

// codeSpans are the inline code spans of the prose, white space folded,
// with their line numbers. A span does not cross a blank line.
func (d docFile) codeSpans() (spans []string, lines []int) {
	for _, m := range docCodeSpanRE.FindAllStringSubmatchIndex(d.prose, -1) {
		s := d.prose[m[2]:m[3]]
		if strings.Contains(s, "\n\n") {
			continue
		}
		spans = append(spans, strings.Join(strings.Fields(s), " "))
		lines = append(lines, lineOf(d.prose, m[0]))
	}
	return spans, lines
}

// TestREADMESnippets: the README's quick-start login, as written (joined
// continuation lines), is accepted by the quickstart configuration.
func TestREADMESnippets(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(docsRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`echo '([^']+)' \| bin/gatehouse (policy eval \\\n\s+.*--secret-stdin)`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatal("quick-start policy eval snippet not found in README.md")
	}
	args := strings.Fields(strings.ReplaceAll(m[2], "\\\n", " "))
	for i, a := range args {
		if a == "examples/quickstart/gatehouse.yaml" {
			args[i] = docsRoot + "/" + a
		}
	}
	code, out, stderr := gh(t, m[1]+"\n", args...)
	if code != 0 || !strings.Contains(out, `decision: ACCEPT by branch "Demo and Codes"`) {
		t.Errorf("quick-start login: exit %d\n%s%s", code, out, stderr)
	}
}

// TestDocConfigs: every ```yaml block of README.md and docs/*.md loads
// with config.Parse and passes CheckPolicies without errors (warnings are
// fine), except the marked ones (see docsRoot): a config-error block must
// fail, a not-a-config block is skipped and reported.
func TestDocConfigs(t *testing.T) {
	loaded, refused := 0, 0
	var skipped []string
	readmeLoaded := 0
	for _, d := range loadDocs(t) {
		for _, b := range d.blocks {
			where := fmt.Sprintf("%s:%d", d.path, b.line)
			if b.lang != "yaml" {
				if b.marker != "" {
					t.Errorf("%s: <!-- %s --> marks a %q block; it marks yaml blocks only", where, b.marker, b.lang)
				}
				continue
			}
			if b.marker == "not-a-config" {
				skipped = append(skipped, where)
				continue
			}
			cfg, ps := config.Parse(d.path, []byte(b.body))
			_, pps := cfg.CheckPolicies()
			errs := append(ps, pps...).Errors()
			switch {
			case b.marker == "config-error" && len(errs) == 0:
				t.Errorf("%s: marked config-error, but the block loads without errors:\n%s", where, b.body)
			case b.marker == "config-error":
				refused++
			case len(errs) > 0:
				t.Errorf("%s: yaml block does not load:\n%s\n%v", where, b.body, errs)
			default:
				loaded++
				if d.path == "README.md" {
					readmeLoaded++
				}
			}
		}
	}
	if readmeLoaded < 3 {
		t.Errorf("README.md: %d yaml blocks load, want at least the three recipes'", readmeLoaded)
	}
	t.Logf("yaml blocks: %d load, %d refused as documented, %d skipped as not-a-config: %s",
		loaded, refused, len(skipped), strings.Join(skipped, ", "))
}

// TestDocPolicyExplain: every `gatehouse policy explain "..."` of the
// documentation runs.
func TestDocPolicyExplain(t *testing.T) {
	re := regexp.MustCompile(`gatehouse policy explain "([^"]+)"`)
	n := 0
	for _, d := range loadDocs(t) {
		for _, m := range re.FindAllStringSubmatch(d.text, -1) {
			n++
			if code, _, stderr := gh(t, "", "policy", "explain", m[1]); code != 0 {
				t.Errorf("%s: policy explain %q: exit %d %s", d.path, m[1], code, stderr)
			}
		}
	}
	if n == 0 {
		t.Error("no gatehouse policy explain in the documentation")
	}
}

// docCommandRE finds a gatehouse command on a line of a shell block: at
// the start, after a pipe or after sudo.
var docCommandRE = regexp.MustCompile(`(?:^|\| |sudo )(?:bin/)?gatehouse (.*)$`)

// docCommands are the gatehouse command lines of a document, each with
// where it is: the lines of its sh, shell, bash and console blocks (in a
// console block only the "$ " lines), continuation lines joined, and its
// inline code spans that start with "gatehouse ".
func (d docFile) docCommands() (cmds, where []string) {
	for _, b := range d.blocks {
		if !slices.Contains([]string{"sh", "shell", "bash", "console"}, b.lang) {
			continue
		}
		text := strings.ReplaceAll(b.body, "\\\n", " ")
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if b.lang == "console" {
				var ok bool
				if line, ok = strings.CutPrefix(line, "$ "); !ok {
					continue
				}
			}
			if m := docCommandRE.FindStringSubmatch(line); m != nil {
				cmds = append(cmds, strings.Join(strings.Fields("gatehouse "+m[1]), " "))
				where = append(where, fmt.Sprintf("%s (block at line %d)", d.path, b.line))
			}
		}
	}
	spans, lines := d.codeSpans()
	for i, s := range spans {
		s = strings.TrimPrefix(s, "sudo ")
		s = strings.TrimPrefix(s, "bin/")
		if strings.HasPrefix(s, "gatehouse ") {
			cmds = append(cmds, s)
			where = append(where, fmt.Sprintf("%s:%d", d.path, lines[i]))
		}
	}
	return cmds, where
}

// docRootCmd is the command tree with cobra's lazily added help command
// and --help / --version flags in place, as a real run has them.
func docRootCmd() *cobra.Command {
	root := newRootCmd(strings.NewReader(""), io.Discard, io.Discard)
	root.InitDefaultHelpCmd()
	root.InitDefaultVersionFlag()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return root
}

// TestREADMECommands: every gatehouse command line of README.md and
// docs/*.md — in sh, shell, bash and console blocks, and in inline code
// spans — names sub-commands and flags that exist.
func TestREADMECommands(t *testing.T) {
	root := docRootCmd()
	checked := map[string]int{}
	for _, d := range loadDocs(t) {
		cmds, where := d.docCommands()
		for i, c := range cmds {
			checked[d.path]++
			if problem := troubleshootingCheckCommand(root, c); problem != "" {
				t.Errorf("%s: %s: %s", where[i], c, problem)
			}
		}
	}
	total := 0
	for _, n := range checked {
		total += n
	}
	if checked["README.md"] < 10 || total < 60 {
		t.Errorf("only %d gatehouse command lines found (%d in README.md): the test looks in the wrong place", total, checked["README.md"])
	}
	t.Logf("gatehouse commands checked: %v", checked)
}

// TestDocParser makes sure the splitting above sees what a reader sees.
func TestDocParser(t *testing.T) {
	d := parseDoc("x.md", "Run `gatehouse user\nlist` now.\n\n"+
		"<!-- not-a-config: scrape -->\n```yaml\na: 1\n```\n"+
		"```sh\ngatehouse config check \\\n  --config x.yaml\n$ not a console line\n```\n"+
		"```console\n$ gatehouse version\ngatehouse dev\n```\n"+
		"<!-- `gatehouse hidden` -->\n````\n```\nnested\n````\ntail `gatehouse logs`\n")
	if len(d.blocks) != 4 {
		t.Fatalf("%d blocks, want 4: %+v", len(d.blocks), d.blocks)
	}
	if b := d.blocks[0]; b.lang != "yaml" || b.marker != "not-a-config" || b.body != "a: 1\n" || b.line != 5 {
		t.Errorf("yaml block: %+v", b)
	}
	if b := d.blocks[3]; b.lang != "" || b.body != "```\nnested\n" {
		t.Errorf("four-backtick block: %+v", b)
	}
	cmds, _ := d.docCommands()
	want := []string{"gatehouse config check --config x.yaml", "gatehouse version", "gatehouse user list", "gatehouse logs"}
	if !slices.Equal(cmds, want) {
		t.Errorf("commands %q, want %q", cmds, want)
	}
	if strings.Count(d.prose, "\n") != strings.Count(d.text, "\n") {
		t.Error("prose lost lines")
	}
	if _, lines := d.codeSpans(); len(lines) == 0 || lines[len(lines)-1] != 22 {
		t.Errorf("code span lines %v, want the last on line 22", lines)
	}
}
