package main

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every relative link of README.md and docs/*.md points at a
// file or directory of the repository, and at an existing heading (or
// HTML anchor) when it carries a #fragment; no document mentions a path
// outside the repository (../shared) or the old DESIGN.md; and the
// README links every docs/*.md.
func TestDocLinks(t *testing.T) {
	docs := loadDocs(t)
	problems, checked := docLinkProblems(docsRoot, docs)
	for _, p := range problems {
		t.Error(p)
	}
	readmeLinks := map[string]bool{}
	for _, l := range docLinks(docs[0]) {
		target, _, _ := strings.Cut(l.target, "#")
		readmeLinks[path.Clean(target)] = true
	}
	for _, d := range docs[1:] {
		if !readmeLinks[d.path] {
			t.Errorf("README.md does not link %s (its \"Where to read more\" list should)", d.path)
		}
	}
	if checked < 40 {
		t.Errorf("only %d relative links checked: the test looks in the wrong place", checked)
	}
	t.Logf("%d relative links checked in %d documents", checked, len(docs))
}

// docLink is a Markdown link or reference definition in a document's prose.
type docLink struct {
	target string
	line   int
}

var (
	// [text](target) and ![alt](target), with an optional "title".
	docInlineLinkRE = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)`)
	// [label]: target
	docRefLinkRE  = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?`)
	docSchemeRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	docHeadingRE  = regexp.MustCompile(`(?m)^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	docHTMLAnchor = regexp.MustCompile(`<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"`)
	docLineAnchor = regexp.MustCompile(`^L\d+(?:-L\d+)?$`)
)

// docLinks are the links of d's prose; inline code spans are not links.
func docLinks(d docFile) []docLink {
	prose := docCodeSpanRE.ReplaceAllStringFunc(d.prose, func(s string) string {
		return regexp.MustCompile(`[^\n]`).ReplaceAllString(s, " ")
	})
	var links []docLink
	for _, re := range []*regexp.Regexp{docInlineLinkRE, docRefLinkRE} {
		for _, m := range re.FindAllStringSubmatchIndex(prose, -1) {
			links = append(links, docLink{target: prose[m[2]:m[3]], line: lineOf(prose, m[0])})
		}
	}
	return links
}

// docAnchors are the fragments a Markdown file offers: its headings as
// GitHub turns them into ids, and explicit <a id> / <a name> anchors.
func docAnchors(d docFile) map[string]bool {
	anchors := map[string]bool{}
	seen := map[string]int{}
	for _, m := range docHeadingRE.FindAllStringSubmatch(d.prose, -1) {
		a := headingAnchor(m[1])
		if n := seen[a]; n > 0 {
			anchors[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			anchors[a] = true
		}
		seen[a]++
	}
	for _, m := range docHTMLAnchor.FindAllStringSubmatch(d.text, -1) {
		anchors[m[1]] = true
	}
	return anchors
}

// headingAnchor is GitHub's id for a heading: the text as rendered (links
// reduced to their text, no code or emphasis marks), lower-cased, with
// everything but letters, digits, '_', '-' and spaces dropped and spaces
// turned into '-'.
func headingAnchor(h string) string {
	h = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.Is(unicode.Mn, r), r == '_', r == '-':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// docLinkProblems checks the links of docs, which are relative to root.
// It returns what is wrong and how many relative links it checked.
func docLinkProblems(root string, docs []docFile) (problems []string, checked int) {
	parsed := map[string]docFile{}
	for _, d := range docs {
		parsed[d.path] = d
	}
	markdown := func(rel string) (docFile, error) {
		if d, ok := parsed[rel]; ok {
			return d, nil
		}
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return docFile{}, err
		}
		d := parseDoc(rel, string(data))
		parsed[rel] = d
		return d, nil
	}
	for _, d := range docs {
		for _, bad := range []string{"../shared", "DESIGN.md"} {
			if i := strings.Index(d.text, bad); i >= 0 {
				problems = append(problems, fmt.Sprintf("%s:%d: mentions %s, which is not in the repository", d.path, lineOf(d.text, i), bad))
			}
		}
		for _, l := range docLinks(d) {
			where := fmt.Sprintf("%s:%d: link %q", d.path, l.line, l.target)
			if l.target == "" {
				problems = append(problems, where+": empty target")
				continue
			}
			if docSchemeRE.MatchString(l.target) || strings.HasPrefix(l.target, "//") {
				continue // http:, https:, mailto: — not checked here
			}
			checked++
			p, frag, _ := strings.Cut(l.target, "#")
			if up, err := url.PathUnescape(p); err == nil {
				p = up
			}
			if strings.HasPrefix(p, "/") {
				problems = append(problems, where+": write links relative to the document")
				continue
			}
			rel := d.path
			if p != "" {
				rel = path.Join(path.Dir(d.path), p)
			}
			if rel == ".." || strings.HasPrefix(rel, "../") {
				problems = append(problems, where+": points outside the repository")
				continue
			}
			isDir := false
			if _, ok := parsed[rel]; !ok {
				st, err := os.Stat(filepath.Join(root, filepath.FromSlash(rel)))
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %s does not exist", where, rel))
					continue
				}
				isDir = st.IsDir()
			}
			if frag == "" {
				continue
			}
			switch {
			case isDir:
				problems = append(problems, fmt.Sprintf("%s: %s is a directory; a #fragment needs a file", where, rel))
			case !strings.HasSuffix(rel, ".md"):
				if !docLineAnchor.MatchString(frag) {
					problems = append(problems, fmt.Sprintf("%s: %s is not Markdown: only #L10 or #L10-L20 fragments", where, rel))
				}
			default:
				target, err := markdown(rel)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				} else if !docAnchors(target)[frag] {
					problems = append(problems, fmt.Sprintf("%s: %s has no heading or anchor #%s", where, rel, frag))
				}
			}
		}
	}
	return problems, checked
}

// TestDocLinksChecker makes sure the link check can fail.
func TestDocLinksChecker(t *testing.T) {
	root := t.TempDir()
	write := func(rel, text string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/b.md", "# B\n\n## What `x` can and cannot do\n\n## Twice\n\n## Twice\n\n<a id=\"custom\"></a>\n")
	write("examples/e.yaml", "a: 1\n")
	good := parseDoc("docs/a.md", strings.Join([]string{
		"[b](b.md) [b](b.md#what-x-can-and-cannot-do) [b](./b.md#twice-1) [b](b.md#custom)",
		"[e](../examples/e.yaml#L1) [dir](../examples/) [self](#a) [web](https://example.com/x#y)",
		"`[not a link](nowhere.md)`",
		"[ref]: b.md#b",
		"",
		"```",
		"[in a block](nowhere.md)",
		"```",
		"# A",
	}, "\n"))
	if problems, checked := docLinkProblems(root, []docFile{good}); len(problems) > 0 || checked != 8 {
		t.Errorf("good links: %d checked, problems %q", checked, problems)
	}
	for _, bad := range []string{
		"[x](missing.md)",
		"[x](b.md#missing)",
		"[x](b.md#twice-2)",
		"[x](../examples/#top)",
		"[x](../examples/e.yaml#top)",
		"[x](../../shared/x.md)",
		"[x](/docs/b.md)",
		"[x]()",
		"see DESIGN.md",
		"see ../shared/peers",
		"[x](#nowhere)",
	} {
		if problems, _ := docLinkProblems(root, []docFile{parseDoc("docs/a.md", bad+"\n")}); len(problems) == 0 {
			t.Errorf("%s: no problem found", bad)
		}
	}
	for h, want := range map[string]string{
		"What MS-CHAPv2 can and cannot do": "what-ms-chapv2-can-and-cannot-do",
		"806, 619":                         "806-619",
		"The `radius_server` front door":   "the-radius_server-front-door",
		"RADIUS: Gatehouse's front door and FreeRADIUS side by side": "radius-gatehouses-front-door-and-freeradius-side-by-side",
		"Plugins: the cost of process isolation":                     "plugins-the-cost-of-process-isolation",
		"Dynamic authorization (RFC 5176)":                           "dynamic-authorization-rfc-5176",
		"See [the design](design.md)":                                "see-the-design",
	} {
		if got := headingAnchor(h); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", h, got, want)
		}
	}
}
