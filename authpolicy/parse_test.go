package authpolicy_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

func TestParseCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Password", "Password"},
		{"Password AND OATH", "Password and OATH"},
		{"(Password and OATH) or DIGIPASS", "(Password and OATH) or DIGIPASS"},
		{"Password and OATH or DIGIPASS", "(Password and OATH) or DIGIPASS"},
		{"Password and (OATH or DIGIPASS)", "Password and (OATH or DIGIPASS)"},
		{"  A   Or   B oR C  ", "A or B or C"},
		{"A and (B and C)", "A and B and C"},
		{"(A or (B or C))", "A or B or C"},
		{"((A))", "A"},
		{"corp-ad and x_2", "corp-ad and x_2"},
		{"(A or B) and (C or D)", "(A or B) and (C or D)"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			e, err := authpolicy.Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := authpolicy.Print(e); got != tc.want {
				t.Errorf("Print(Parse(%q)) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in    string
		msg   string
		caret string
	}{
		{"", `empty expression`, "\n^"},
		{"   ", `empty expression`, "   \n^"},
		{"(Password and ) or X", `unexpected ")" at column 15; expected a back-end name or "("`, "(Password and ) or X\n              ^"},
		{"(Password and OATH))", `unbalanced parenthesis: ")" at column 20 has no matching "("`, "(Password and OATH))\n                   ^"},
		{"(Password and OATH", `unbalanced parenthesis: "(" at column 1 is never closed`, "(Password and OATH\n^"},
		{"A and (B or (C and", `unbalanced parenthesis: "(" at column 13 is never closed`, ""},
		{"Password OATH", `unexpected name "OATH" at column 10; expected "and", "or" or the end of the expression`, ""},
		{"Password and", `unexpected end of expression at column 13; expected a back-end name or "("`, ""},
		{"and Password", `unexpected "and" at column 1; expected a back-end name or "("`, ""},
		{"Password & OATH", `unexpected character "&" at column 10; expected "and", "or" or the end of the expression`, ""},
		{"()", `unexpected ")" at column 2; expected a back-end name or "("`, ""},
		{"(A B)", `unexpected name "B" at column 4; expected "and", "or" or ")"`, ""},
		{"é or A", `unexpected character "é" at column 1; expected a back-end name or "("`, ""},
		{"A or é", `unexpected character "é" at column 6; expected a back-end name or "("`, "A or é\n     ^"},
		{"1A", `unexpected character "1" at column 1; expected a back-end name or "("`, ""},
		{strings.Repeat("(", 40) + "A" + strings.Repeat(")", 40), `parentheses nested too deeply at column 33 (at most 32 levels)`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := authpolicy.Parse(tc.in)
			se, ok := err.(*authpolicy.SyntaxError)
			if !ok {
				t.Fatalf("Parse(%q) error = %v (%T), want *SyntaxError", tc.in, err, err)
			}
			if se.Error() != tc.msg {
				t.Errorf("message:\n got %s\nwant %s", se.Error(), tc.msg)
			}
			if tc.caret != "" && se.Caret() != tc.caret {
				t.Errorf("caret:\n got %q\nwant %q", se.Caret(), tc.caret)
			}
		})
	}
}

func TestParseTooLong(t *testing.T) {
	_, err := authpolicy.Parse(strings.Repeat("A or ", 1000) + "A")
	if err == nil || !strings.Contains(err.Error(), "expression too long: 5001 bytes, at most 4096") {
		t.Fatalf("got %v", err)
	}
}

// randomExpr builds a random expression tree over a few names.
func randomExpr(r *rand.Rand, depth int) authpolicy.Expr {
	names := []string{"Password", "OATH", "DIGIPASS", "corp-ad", "RADIUS", "x_1"}
	if depth == 0 || r.IntN(3) == 0 {
		return &authpolicy.Name{Name: names[r.IntN(len(names))]}
	}
	n := 2 + r.IntN(3)
	terms := make([]authpolicy.Expr, 0, n)
	for range n {
		terms = append(terms, randomExpr(r, depth-1))
	}
	if r.IntN(2) == 0 {
		return &authpolicy.And{Terms: terms}
	}
	return &authpolicy.Or{Terms: terms}
}

// TestPrintParseProperty: for random trees, printing then parsing gives a
// tree that prints the same (the canonical form is a fixed point), and for
// parsed trees Parse(Print(e)) equals e.
func TestPrintParseProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		raw := randomExpr(r, 4)
		text := authpolicy.Print(raw)
		e, err := authpolicy.Parse(text)
		if err != nil {
			t.Fatalf("#%d: Parse(Print(e)) = %v for %q", i, err, text)
		}
		if got := authpolicy.Print(e); got != text {
			// The random tree may nest an And in an And; the parser
			// flattens it, so compare canonical forms of the parsed tree.
			e2, err := authpolicy.Parse(got)
			if err != nil || !authpolicy.Equal(e, e2) {
				t.Fatalf("#%d: not canonical: %q -> %q", i, text, got)
			}
		}
		e2, err := authpolicy.Parse(authpolicy.Print(e))
		if err != nil || !authpolicy.Equal(e, e2) {
			t.Fatalf("#%d: Parse(Print(e)) != e for %q", i, text)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Password", "(Password and OATH) or DIGIPASS", "A and (B or C)", "((A", "A))", "a AND b Or c",
		"", "é", "corp-ad and RADIUS", "(A or B) and (C or D) and E",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := authpolicy.Parse(src)
		if err != nil {
			se, ok := err.(*authpolicy.SyntaxError)
			if !ok {
				t.Fatalf("error is %T, not *SyntaxError", err)
			}
			if se.Col < 1 || se.Msg == "" {
				t.Fatalf("bad error %+v", se)
			}
			return
		}
		text := authpolicy.Print(e)
		e2, err := authpolicy.Parse(text)
		if err != nil {
			t.Fatalf("Parse(Print(e)) failed: %v (%q from %q)", err, text, src)
		}
		if !authpolicy.Equal(e, e2) || authpolicy.Print(e2) != text {
			t.Fatalf("round trip changed %q -> %q", src, authpolicy.Print(e2))
		}
	})
}

func TestTree(t *testing.T) {
	e, err := authpolicy.Parse("(Password and OATH) or DIGIPASS")
	if err != nil {
		t.Fatal(err)
	}
	want := "or\n├── and\n│   ├── Password\n│   └── OATH\n└── DIGIPASS\n"
	if got := authpolicy.Tree(e); got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}
}
