package authpolicy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits that keep a hostile or mistaken expression from costing much.
const (
	MaxExprLen   = 4096 // bytes of source
	MaxExprDepth = 32   // nested parentheses
)

// SyntaxError is a policy that does not parse, or names a back-end that does
// not exist. Col is the 1-based column (in characters) of the offending
// token in Expr.
type SyntaxError struct {
	Expr string
	Col  int
	Msg  string
}

func (e *SyntaxError) Error() string { return e.Msg }

// Caret shows the expression with a caret under the offending column:
//
//	(Password and ) or DIGIPASS
//	              ^
func (e *SyntaxError) Caret() string {
	col := e.Col
	if col < 1 {
		col = 1
	}
	return e.Expr + "\n" + strings.Repeat(" ", col-1) + "^"
}

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokName
	tokAnd
	tokOr
	tokLParen
	tokRParen
	tokBad
)

type token struct {
	kind tokKind
	text string
	col  int // 1-based, in characters
}

func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokName:
		return fmt.Sprintf("name %q", t.text)
	case tokBad:
		return fmt.Sprintf("character %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// IsName reports whether s can be used as a back-end name in a policy:
// a letter followed by letters, digits, '-' or '_', and not a keyword.
func IsName(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return !isKeyword(s)
}

func isKeyword(s string) bool { return strings.EqualFold(s, "and") || strings.EqualFold(s, "or") }
func isLetter(c byte) bool    { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isNameByte(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func lex(src string) []token {
	var toks []token
	col := 1
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			col++
		case c == '(':
			toks = append(toks, token{tokLParen, "(", col})
			i++
			col++
		case c == ')':
			toks = append(toks, token{tokRParen, ")", col})
			i++
			col++
		case isLetter(c):
			j := i + 1
			for j < len(src) && isNameByte(src[j]) {
				j++
			}
			word := src[i:j]
			k := tokName
			switch {
			case strings.EqualFold(word, "and"):
				k = tokAnd
			case strings.EqualFold(word, "or"):
				k = tokOr
			}
			toks = append(toks, token{k, word, col})
			col += j - i
			i = j
		default:
			r, size := utf8.DecodeRuneInString(src[i:])
			toks = append(toks, token{tokBad, string(r), col})
			i += size
			col++
		}
	}
	return append(toks, token{tokEOF, "", col})
}

type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
	open  []token // unclosed "(" tokens
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) errorf(col int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Expr: p.src, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a policy expression:
//
//	expr   = term { "or" term }
//	term   = factor { "and" factor }
//	factor = NAME | "(" expr ")"
//
// Keywords are case-insensitive; names are not. Errors are *SyntaxError.
// Parse does not check that the names exist: [Compile] does.
func Parse(src string) (Expr, error) {
	if len(src) > MaxExprLen {
		return nil, &SyntaxError{Expr: src[:64] + "...", Col: 1, Msg: fmt.Sprintf("expression too long: %d bytes, at most %d", len(src), MaxExprLen)}
	}
	p := &parser{src: src, toks: lex(src)}
	if p.peek().kind == tokEOF {
		return nil, p.errorf(1, "empty expression")
	}
	e, err := p.expr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.errorf(t.col, "unbalanced parenthesis: %q at column %d has no matching \"(\"", t.text, t.col)
		}
		return nil, p.errorf(t.col, "unexpected %s at column %d; expected \"and\", \"or\" or the end of the expression", t.describe(), t.col)
	}
	return e, nil
}

func (p *parser) expr() (Expr, error) {
	col := p.peek().col
	first, err := p.term()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokOr {
		return first, nil
	}
	or := &Or{Col: col}
	or.Terms = appendFlat(or.Terms, first, false)
	for p.peek().kind == tokOr {
		p.next()
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		or.Terms = appendFlat(or.Terms, t, false)
	}
	return or, nil
}

func (p *parser) term() (Expr, error) {
	col := p.peek().col
	first, err := p.factor()
	if err != nil {
		return nil, err
	}
	if p.peek().kind != tokAnd {
		return first, nil
	}
	and := &And{Col: col}
	and.Terms = appendFlat(and.Terms, first, true)
	for p.peek().kind == tokAnd {
		p.next()
		f, err := p.factor()
		if err != nil {
			return nil, err
		}
		and.Terms = appendFlat(and.Terms, f, true)
	}
	return and, nil
}

// appendFlat appends e to terms, splicing in e's own terms when e is of the
// same kind as the node being built (associativity), so the tree is canonical.
func appendFlat(terms []Expr, e Expr, isAnd bool) []Expr {
	switch e := e.(type) {
	case *And:
		if isAnd {
			return append(terms, e.Terms...)
		}
	case *Or:
		if !isAnd {
			return append(terms, e.Terms...)
		}
	}
	return append(terms, e)
}

func (p *parser) factor() (Expr, error) {
	t := p.next()
	switch t.kind {
	case tokName:
		return &Name{Name: t.text, Col: t.col}, nil
	case tokLParen:
		if p.depth >= MaxExprDepth {
			return nil, p.errorf(t.col, "parentheses nested too deeply at column %d (at most %d levels)", t.col, MaxExprDepth)
		}
		p.depth++
		p.open = append(p.open, t)
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		if c := p.peek(); c.kind != tokRParen {
			if c.kind == tokEOF {
				return nil, p.errorf(t.col, "unbalanced parenthesis: \"(\" at column %d is never closed", t.col)
			}
			return nil, p.errorf(c.col, "unexpected %s at column %d; expected \"and\", \"or\" or \")\"", c.describe(), c.col)
		}
		p.next()
		p.depth--
		p.open = p.open[:len(p.open)-1]
		return e, nil
	case tokEOF:
		if len(p.open) > 0 {
			o := p.open[len(p.open)-1]
			return nil, p.errorf(o.col, "unbalanced parenthesis: \"(\" at column %d is never closed", o.col)
		}
		return nil, p.errorf(t.col, "unexpected end of expression at column %d; expected a back-end name or \"(\"", t.col)
	}
	return nil, p.errorf(t.col, "unexpected %s at column %d; expected a back-end name or \"(\"", t.describe(), t.col)
}
