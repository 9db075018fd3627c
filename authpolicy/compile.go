package authpolicy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// MaxBranches bounds the number of alternatives a policy may expand to once
// written as an "or" of "and"s: "(A or B) and (C or D)" is four branches.
const MaxBranches = 64

// Branch is one conjunction of a policy in disjunctive normal form: the
// factors the user must satisfy, in the order their secrets are typed.
type Branch struct {
	Factors []string
}

// String is the branch in policy syntax: "Password and OATH".
func (b Branch) String() string { return strings.Join(b.Factors, " and ") }

// Policy is a compiled policy: parsed, with every name resolved against the
// configured back-ends, and expanded to the branches the evaluator tries in
// order. Nothing is parsed at login time.
type Policy struct {
	Service  string
	Source   string
	Expr     Expr
	Branches []Branch
	infos    map[string]Info
}

// Compile parses src and resolves its names against backends (name to
// capabilities). Errors are *SyntaxError, including unknown back-ends with a
// suggestion.
func Compile(service, src string, backends map[string]Info) (*Policy, error) {
	e, err := Parse(src)
	if err != nil {
		return nil, err
	}
	// Every unknown name is reported, not only the first: "Foo or Bar"
	// with neither configured is two mistakes. One is a *SyntaxError;
	// several are joined (errors.Join), each a *SyntaxError at its column.
	var unknown []error
	for _, n := range Names(e) {
		if _, ok := backends[n.Name]; ok {
			continue
		}
		msg := fmt.Sprintf("unknown back-end %q", n.Name)
		if s := suggest(n.Name, backends); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += fmt.Sprintf("; configured back-ends: %s", strings.Join(sortedNames(backends), ", "))
		}
		unknown = append(unknown, &SyntaxError{Expr: src, Col: n.Col, Msg: msg})
	}
	switch len(unknown) {
	case 0:
	case 1:
		return nil, unknown[0]
	default:
		return nil, errors.Join(unknown...)
	}
	branches := expand(e)
	if len(branches) > MaxBranches {
		return nil, &SyntaxError{Expr: src, Col: 1, Msg: fmt.Sprintf("policy expands to more than %d alternatives: factor common terms out", MaxBranches)}
	}
	for _, b := range branches {
		seen := map[string]bool{}
		for _, f := range b.Factors {
			if seen[f] {
				return nil, &SyntaxError{Expr: src, Col: 1, Msg: fmt.Sprintf("branch %q names %s twice: a back-end can supply only one part of a combined secret", b.String(), f)}
			}
			seen[f] = true
		}
	}
	infos := make(map[string]Info, len(backends))
	for _, n := range Names(e) {
		infos[n.Name] = backends[n.Name]
	}
	return &Policy{Service: service, Source: src, Expr: e, Branches: branches, infos: infos}, nil
}

// expand returns e in disjunctive normal form, branches in evaluation order.
// It stops growing past MaxBranches+1 so a hostile policy cannot explode.
func expand(e Expr) []Branch {
	switch e := e.(type) {
	case *Name:
		return []Branch{{Factors: []string{e.Name}}}
	case *Or:
		var out []Branch
		for _, t := range e.Terms {
			out = append(out, expand(t)...)
			if len(out) > MaxBranches {
				return out
			}
		}
		return out
	case *And:
		out := []Branch{{}}
		for _, t := range e.Terms {
			sub := expand(t)
			var next []Branch
			for _, a := range out {
				for _, b := range sub {
					f := make([]string, 0, len(a.Factors)+len(b.Factors))
					f = append(append(f, a.Factors...), b.Factors...)
					next = append(next, Branch{Factors: f})
					if len(next) > MaxBranches {
						return next
					}
				}
			}
			out = next
		}
		return out
	}
	return nil
}

func sortedNames(m map[string]Info) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// suggest returns the configured name closest to name, if it is close enough
// to be a plausible typo (or differs only in case).
func suggest(name string, backends map[string]Info) string {
	best, bestD := "", 0
	for _, cand := range sortedNames(backends) {
		if strings.EqualFold(cand, name) {
			return cand
		}
		d := editDistance(strings.ToLower(name), strings.ToLower(cand))
		if best == "" || d < bestD {
			best, bestD = cand, d
		}
	}
	limit := 1 + len(name)/4
	if limit > 3 {
		limit = 3
	}
	if best != "" && bestD <= limit {
		return best
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
