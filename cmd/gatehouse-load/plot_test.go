package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/load.svg")

// loadFigures are the two measured runs of docs/performance.md ("The
// whole gateway under load"), low and high, that docs/load.svg draws.
var loadFigures = []struct {
	panel, unit string
	bars        []bar
}{
	{"set-ups per second (aim 1,000)", "/s", []bar{{"100 sessions", 1648, 1944}, {"1,000 sessions", 1580, 1803}, {"10,000 sessions", 1711, 1727}}},
	{"RSS per idle session (aim 30 KiB)", " KiB", []bar{{"100 sessions", 76, 85}, {"1,000 sessions", 34, 35}, {"10,000 sessions", 25.5, 27.6}}},
	{"1400-octet packets/s, fraction of the plain TUN echo (aim 0.5)", "", []bar{
		{"stateless up", 0.20, 0.20}, {"stateless down", 0.21, 0.22}, {"stateless both", 0.15, 0.16},
		{"stateful up", 0.27, 0.28}, {"stateful down", 0.21, 0.25}, {"stateful both", 0.15, 0.16}}},
}

type bar struct {
	label  string
	lo, hi float64
}

// TestLoadPlot keeps docs/load.svg in step with loadFigures; -update
// rewrites it.
func TestLoadPlot(t *testing.T) {
	got := loadSVG()
	path := filepath.Join("..", "..", "docs", "load.svg")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s is stale: go test ./cmd/gatehouse-load/ -run TestLoadPlot -update", path)
	}
}

// loadSVG draws one panel of horizontal bars per figure: the bar up to
// the lower run, a thin line on to the higher.
func loadSVG() string {
	const width, rowH, labelW, barW = 640, 22, 130, 420
	var b strings.Builder
	y := 10
	var body strings.Builder
	for _, p := range loadFigures {
		top := 0.0
		for _, r := range p.bars {
			top = max(top, r.hi)
		}
		if strings.Contains(p.panel, "fraction") {
			top = 0.5 // the aim
		}
		fmt.Fprintf(&body, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y+14, p.panel)
		y += 22
		for _, r := range p.bars {
			lo, hi := float64(barW)*r.lo/top, float64(barW)*r.hi/top
			fmt.Fprintf(&body, "<text x=\"10\" y=\"%d\">%s</text>\n", y+15, r.label)
			fmt.Fprintf(&body, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"#4a7ab5\"/>\n", labelW, y+3, lo)
			fmt.Fprintf(&body, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#4a7ab5\" stroke-width=\"2\"/>\n", float64(labelW)+lo, y+10, float64(labelW)+hi, y+10)
			fmt.Fprintf(&body, "<text x=\"%.1f\" y=\"%d\">%s–%s%s</text>\n", float64(labelW)+hi+6, y+15, num(r.lo), num(r.hi), p.unit)
			y += rowH
		}
		y += 12
	}
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", width, y+20)
	fmt.Fprintf(&b, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n")
	b.WriteString(body.String())
	fmt.Fprintf(&b, "<text x=\"10\" y=\"%d\" fill=\"#555\">gatehouse-load against gatehouse serve, 2 cores; two runs: the bar the lower, the line the higher</text>\n", y+10)
	b.WriteString("</svg>\n")
	return b.String()
}

func num(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.0f", v)
}
