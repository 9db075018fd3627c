package config

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Pos is a position in the configuration file: 1-based line and column, as
// an editor shows them. The zero Pos means "not in the file" (a default).
type Pos struct {
	Line, Col int
}

// IsValid reports whether p points into the file.
func (p Pos) IsValid() bool { return p.Line > 0 }

// String formats p as "line:col", or "line" when the column is unknown.
func (p Pos) String() string {
	switch {
	case p.Line <= 0:
		return "-"
	case p.Col <= 0:
		return strconv.Itoa(p.Line)
	}
	return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
}

// Severity says whether a [Problem] stops the configuration from loading.
type Severity uint8

const (
	// Error: the configuration cannot be used.
	Error Severity = iota
	// Warning: the configuration works, but an operator should know
	// (weak authentication enabled, secrets in plaintext).
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	// File is the name the file was loaded under.
	File string
	// Line and Col point at the offending node (1-based). Line is 0 when the
	// problem has no place in the file: an empty file, a default value that
	// clashes with something written, a YAML error without a position.
	// Col is 0 when only the line is known.
	Line, Col int
	// Path names the offending setting, dotted and indexed as in
	// "services.pptp.policy" or "pptp.dns[2]"; empty for the whole file.
	Path string
	// Msg says what is wrong and, where there is one, the expected form.
	Msg      string
	Severity Severity
	// Detail, when set, is extra text shown under the problem, for example a
	// policy with a caret under the offending token.
	Detail string
}

// String formats the problem the way compilers do, so that editors can jump
// to it:
//
//	gatehouse.yaml:12:5: services.pptp: unknown key "polcy"; did you mean "policy"?
//	gatehouse.yaml:30:3: warning: backends.Demo: secrets in plaintext in the config, for tests and demos only
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(Pos{p.Line, p.Col}.String())
	}
	b.WriteString(": ")
	if p.Severity == Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Pos returns the problem's position.
func (p Problem) Pos() Pos { return Pos{p.Line, p.Col} }

// Problems is every problem found in one file, ordered by position. It is an
// error so that callers that only care whether loading worked can return it.
type Problems []Problem

// Error joins all problems, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the problems of severity [Error].
func (ps Problems) Errors() Problems { return ps.filter(Error) }

// Warnings returns the problems of severity [Warning].
func (ps Problems) Warnings() Problems { return ps.filter(Warning) }

// Err returns the errors among ps as an error, or nil when there are none
// (warnings alone do not stop a configuration from loading).
func (ps Problems) Err() error {
	if errs := ps.Errors(); len(errs) > 0 {
		return errs
	}
	return nil
}

func (ps Problems) filter(s Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// sort orders problems by position, problems without one first; ties (a
// value reached twice through an alias) are broken by path and message so
// that the order never depends on map iteration.
func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col),
			strings.Compare(a.Path, b.Path), strings.Compare(a.Msg, b.Msg))
	})
}
