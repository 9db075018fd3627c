package authpolicy

import "strings"

// Expr is a parsed policy expression: a *Name, an *And or an *Or. And and Or
// are n-ary and never directly contain a node of their own kind (the parser
// flattens "A and (B and C)" into one And), so every expression has exactly
// one canonical form and Parse(Print(e)) equals e.
type Expr interface {
	// Pos is the 1-based column of the node's first token.
	Pos() int
	expr()
}

// Name is a back-end instance named in the configuration.
type Name struct {
	Name string
	Col  int
}

// And is a conjunction: the user types each factor's secret in order.
type And struct {
	Terms []Expr
	Col   int
}

// Or is a disjunction: branches are tried in order; the first success wins.
type Or struct {
	Terms []Expr
	Col   int
}

func (n *Name) Pos() int { return n.Col }
func (a *And) Pos() int  { return a.Col }
func (o *Or) Pos() int   { return o.Col }

func (*Name) expr() {}
func (*And) expr()  {}
func (*Or) expr()   {}

// Print returns the canonical text of e: keywords in lower case, single
// spaces, and parentheses around every group inside another, so that
// "(Password and OATH) or DIGIPASS" reads as operators write it.
func Print(e Expr) string {
	var b strings.Builder
	printExpr(&b, e, true)
	return b.String()
}

func printExpr(b *strings.Builder, e Expr, top bool) {
	var terms []Expr
	var op string
	switch e := e.(type) {
	case *Name:
		b.WriteString(e.Name)
		return
	case *And:
		terms, op = e.Terms, " and "
	case *Or:
		terms, op = e.Terms, " or "
	}
	if !top {
		b.WriteByte('(')
	}
	for i, t := range terms {
		if i > 0 {
			b.WriteString(op)
		}
		printExpr(b, t, false)
	}
	if !top {
		b.WriteByte(')')
	}
}

// Equal reports whether a and b are the same expression, ignoring positions.
func Equal(a, b Expr) bool {
	switch a := a.(type) {
	case *Name:
		b, ok := b.(*Name)
		return ok && a.Name == b.Name
	case *And:
		b, ok := b.(*And)
		return ok && equalTerms(a.Terms, b.Terms)
	case *Or:
		b, ok := b.(*Or)
		return ok && equalTerms(a.Terms, b.Terms)
	}
	return false
}

func equalTerms(a, b []Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Names returns the distinct back-end names in e, in order of first use.
func Names(e Expr) []*Name {
	var out []*Name
	seen := map[string]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		switch e := e.(type) {
		case *Name:
			if !seen[e.Name] {
				seen[e.Name] = true
				out = append(out, e)
			}
		case *And:
			for _, t := range e.Terms {
				walk(t)
			}
		case *Or:
			for _, t := range e.Terms {
				walk(t)
			}
		}
	}
	walk(e)
	return out
}

// Tree renders e as an indented tree, one node a line, for "policy explain".
func Tree(e Expr) string {
	var b strings.Builder
	var walk func(Expr, string, bool, bool)
	walk = func(e Expr, prefix string, last, root bool) {
		branch, next := "", ""
		if !root {
			branch, next = "├── ", "│   "
			if last {
				branch, next = "└── ", "    "
			}
		}
		b.WriteString(prefix + branch)
		var terms []Expr
		switch e := e.(type) {
		case *Name:
			b.WriteString(e.Name)
		case *And:
			b.WriteString("and")
			terms = e.Terms
		case *Or:
			b.WriteString("or")
			terms = e.Terms
		}
		b.WriteByte('\n')
		for i, t := range terms {
			walk(t, prefix+next, i == len(terms)-1, false)
		}
	}
	walk(e, "", true, true)
	return b.String()
}
