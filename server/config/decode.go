package config

// This file holds the strict decoder: yaml.v3 parses the file into a tree of
// yaml.Node, and the decoder walks that tree against the Go types of the
// configuration by reflection. Walking the tree ourselves (rather than using
// yaml's Decode with KnownFields) is what lets us report every problem, not
// only the first, each with its line and column.
//
// The decoder understands these struct tags:
//
//	yaml:"name"              the key; yaml:"-" skips the field
//	yaml:",inline" when:"type=oath"
//	                         a pointer to a struct whose keys join the
//	                         enclosing mapping when the key "type" says "oath"
//	required:"true"          the key must be present
//	min:"1" max:"8"          range of an int or a time.Duration (for a list:
//	                         of each element)
//	pos:"policy"             on a Pos field with yaml:"-": receives the
//	                         position of the first character of the value of
//	                         key "policy"; pos:"." receives the position of the
//	                         key that names the struct itself
//
// A key that is absent leaves the value the decoder found in place: that is
// how defaults work (see defaults.go). A value written as null (key: or
// key: ~) does the same, except that a struct is then decoded as an empty
// mapping, so that its required keys are reported.

import (
	"encoding"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"gopkg.in/yaml.v3"
)

// nodeBudget bounds the number of nodes one file may expand to, so that a
// small file of nested aliases cannot make the loader walk forever.
const nodeBudget = 100_000

type decoder struct {
	file     string
	lines    []string // the source, to locate text inside block scalars
	problems Problems
	pos      map[string]Pos // path -> position of the value
	keyPos   map[string]Pos // path -> position of the key naming it
	budget   int
	overrun  bool
}

func newDecoder(file string, data []byte) *decoder {
	return &decoder{
		file:   file,
		lines:  strings.Split(string(data), "\n"),
		pos:    make(map[string]Pos),
		keyPos: make(map[string]Pos),
		budget: nodeBudget,
	}
}

func (d *decoder) add(sev Severity, p Pos, path, msg string) {
	d.problems = append(d.problems, Problem{
		File: d.file, Line: p.Line, Col: p.Col, Path: path, Msg: msg, Severity: sev,
	})
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.add(Error, nodePos(n), path, fmt.Sprintf(format, args...))
}

func nodePos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// contentPos is the position of the first character of a scalar's text:
// after the quote of a quoted scalar, on the first line of a block scalar.
func (d *decoder) contentPos(n *yaml.Node) Pos {
	p := nodePos(n)
	switch {
	case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
		p.Col++
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		for i := n.Line; i < len(d.lines); i++ { // d.lines[i] is line i+1
			if t := strings.TrimLeft(d.lines[i], " "); strings.TrimSpace(t) != "" {
				return Pos{i + 1, len(d.lines[i]) - len(t) + 1}
			}
		}
	}
	return p
}

// resolve follows aliases and charges the node budget. It returns nil once
// the budget is spent.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			return nil
		}
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	if d.budget <= 0 {
		if !d.overrun {
			d.overrun = true
			d.errorf(n, "", "the file expands to more than %d values through aliases; write it out plainly", nodeBudget)
		}
		return nil
	}
	d.budget--
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names what the file holds at n, for "expected X, got Y".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	if isNull(n) {
		return "nothing"
	}
	return quote(n.Value)
}

// quote quotes s for a message, shortened to 40 characters.
func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		return strconv.Quote(string(r[:40])) + "..."
	}
	return strconv.Quote(s)
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Types the decoder treats specially.
var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[authpolicy.Secret]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
	posType      = reflect.TypeFor[Pos]()
)

// chooser is implemented by enumerations: the decoder lists the choices and
// suggests the nearest one.
type chooser interface{ choices() []string }

// former is implemented by the package's own text types to describe the
// expected form; their UnmarshalText errors are written for operators and
// are shown too.
type former interface{ form() string }

// defaulter is implemented by types whose fresh values (a new back-end, a new
// service) start from defaults rather than zero. See defaults.go.
type defaulter interface{ setDefaults() }

// valueTags are the tags that constrain a value (and the elements of a list).
type valueTags struct {
	min, max string
}

// expected describes the form a value of type t takes in the file.
func expected(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration such as 10s"
	case secretType:
		return "a string"
	}
	pt := reflect.PointerTo(t)
	if pt.Implements(orderedMapType) {
		return "a mapping"
	}
	if pt.Implements(textType) {
		zero := reflect.New(t).Interface()
		if c, ok := zero.(chooser); ok {
			return "one of " + strings.Join(c.choices(), ", ")
		}
		if f, ok := zero.(former); ok {
			return f.form()
		}
		if f, ok := netipForms[t]; ok {
			return f
		}
		return "a " + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return expected(t.Elem())
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number"
	}
	return t.String()
}

// isMapping reports whether values of t are written as a mapping.
func isMapping(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == secretType || reflect.PointerTo(t).Implements(textType) {
		return false
	}
	return t.Kind() == reflect.Struct
}

// newValue returns a pointer to a fresh value of type t, with its defaults.
func newValue(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if df, ok := p.Interface().(defaulter); ok {
		df.setDefaults()
	}
	return p
}

// decode decodes n into v, which must be settable.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, vt valueTags) {
	n = d.resolve(n)
	if n == nil {
		return
	}
	d.pos[path] = nodePos(n)
	t := v.Type()
	if isNull(n) {
		if !isMapping(t) {
			return // keep the default
		}
		n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	}
	switch {
	case t == durationType:
		d.decodeDuration(n, v, path, vt)
		return
	case t == secretType:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.Set(reflect.ValueOf(authpolicy.NewSecret(n.Value)))
		return
	case reflect.PointerTo(t).Implements(orderedMapType):
		d.decodeOrdered(n, v.Addr().Interface().(orderedMap), path, vt)
		return
	case reflect.PointerTo(t).Implements(textType):
		d.decodeText(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(newValue(t.Elem()))
		}
		d.decode(n, v.Elem(), path, vt)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path, vt)
	case reflect.Slice:
		d.decodeSlice(n, v, path, vt)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		switch n.Value {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.errorf(n, path, "expected true or false, got %s", describe(n))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.decodeInt(n, v, path, vt)
	default:
		panic("config: the decoder cannot handle " + t.String())
	}
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string, vt valueTags) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a whole number, got %s", describe(n))
		return
	}
	i, err := strconv.ParseInt(n.Value, 10, v.Type().Bits())
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			d.errorf(n, path, "%s is out of range", n.Value)
			return
		}
		d.errorf(n, path, "expected a whole number, got %s", describe(n))
		return
	}
	if msg := checkRange(i, vt, parseIntTag, strconv.FormatInt); msg != "" {
		d.errorf(n, path, "%s", msg)
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string, vt valueTags) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected a duration such as 10s, got %s", describe(n))
		return
	}
	s := n.Value
	if _, err := strconv.ParseFloat(s, 64); err == nil && s != "0" {
		d.errorf(n, path, "bare number %s is not a duration; write a duration such as 10s", s)
		return
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.errorf(n, path, "expected a duration such as 10s, got %s", describe(n))
		return
	}
	if dur < 0 {
		d.errorf(n, path, "must not be negative, got %s", s)
		return
	}
	if msg := checkRange(dur, vt, parseDuration, formatDuration); msg != "" {
		d.errorf(n, path, "%s", msg)
		return
	}
	v.SetInt(int64(dur))
}

func parseIntTag(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// parseDuration is time.ParseDuration plus whole days ("30d"), for
// retention periods.
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseUint(days, 10, 16); err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}

func formatDuration(d time.Duration, _ int) string { return d.String() }

// checkRange applies the min and max tags; it returns a message or "".
func checkRange[T int64 | time.Duration](x T, vt valueTags, parse func(string) (T, error), format func(T, int) string) string {
	var lo, hi T
	var hasLo, hasHi bool
	if vt.min != "" {
		lo, hasLo = mustParseTag(vt.min, parse), true
	}
	if vt.max != "" {
		hi, hasHi = mustParseTag(vt.max, parse), true
	}
	got := format(x, 10)
	switch {
	case hasLo && hasHi && (x < lo || x > hi):
		return fmt.Sprintf("must be from %s to %s, got %s", format(lo, 10), format(hi, 10), got)
	case hasLo && x < lo:
		return fmt.Sprintf("must be at least %s, got %s", format(lo, 10), got)
	case hasHi && x > hi:
		return fmt.Sprintf("must be at most %s, got %s", format(hi, 10), got)
	}
	return ""
}

func mustParseTag[T any](s string, parse func(string) (T, error)) T {
	x, err := parse(s)
	if err != nil {
		panic("config: bad min/max tag " + strconv.Quote(s))
	}
	return x
}

func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", expected(t), describe(n))
		return
	}
	fresh := reflect.New(t)
	err := fresh.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value))
	if err == nil {
		v.Set(fresh.Elem())
		return
	}
	msg := fmt.Sprintf("expected %s, got %s", expected(t), describe(n))
	zero := fresh.Interface()
	if c, ok := zero.(chooser); ok {
		if s := suggest(n.Value, c.choices()); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
	} else if _, ok := zero.(former); ok {
		msg += ": " + err.Error()
	}
	d.errorf(n, path, "%s", msg)
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// pairs checks the keys of mapping n and returns its entries. Keys must be
// scalars and unique; merge keys are refused.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	seen := make(map[string]*yaml.Node)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := d.resolve(n.Content[i])
		if k == nil {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "expected a key, got %s", describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, path, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k.Value, k, n.Content[i+1]})
	}
	return out
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, vt valueTags) {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	ps := d.pairs(n, path)
	if len(ps) == 0 {
		v.SetZero()
		return
	}
	m := reflect.MakeMapWithSize(t, len(ps))
	for _, p := range ps {
		if p.key == "" {
			d.errorf(p.k, path, "empty key")
			continue
		}
		child := joinPath(path, p.key)
		d.keyPos[child] = nodePos(p.k)
		ev := newValue(t.Elem()).Elem()
		d.decode(p.v, ev, child, vt)
		m.SetMapIndex(reflect.ValueOf(p.key).Convert(t.Key()), ev)
	}
	v.Set(m)
}

func (d *decoder) decodeOrdered(n *yaml.Node, om orderedMap, path string, vt valueTags) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	om.reset()
	for _, p := range d.pairs(n, path) {
		if p.key == "" {
			d.errorf(p.k, path, "empty key")
			continue
		}
		child := joinPath(path, p.key)
		d.keyPos[child] = nodePos(p.k)
		ev := newValue(om.elemType()).Elem()
		d.decode(p.v, ev, child, vt)
		om.setValue(p.key, ev)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, vt valueTags) {
	t := v.Type()
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected a list of %s, got %s", plural(expected(t.Elem())), describe(n))
		return
	}
	if len(n.Content) == 0 {
		v.SetZero()
		return
	}
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, c := range n.Content {
		ev := newValue(t.Elem()).Elem()
		d.decode(c, ev, fmt.Sprintf("%s[%d]", path, i), vt)
		s.Index(i).Set(ev)
	}
	v.Set(s)
}

// plural turns "a whole number" into "whole numbers" and "an IP address
// such as ..." into "IP addresses such as ..." for "a list of ...".
func plural(form string) string {
	form, ok := strings.CutPrefix(form, "a ")
	if !ok {
		form, ok = strings.CutPrefix(form, "an ")
	}
	if !ok {
		return form
	}
	head, tail, _ := strings.Cut(form, " such as ")
	switch {
	case strings.HasSuffix(head, "s"):
		head += "es"
	case strings.HasSuffix(head, "y"):
		head = strings.TrimSuffix(head, "y") + "ies"
	default:
		head += "s"
	}
	if tail != "" {
		return head + " such as " + tail
	}
	return head
}

// netipForms describes the standard library's address types.
var netipForms = map[reflect.Type]string{
	reflect.TypeFor[netip.Addr]():     "an IP address such as 10.99.0.1",
	reflect.TypeFor[netip.Prefix]():   "a network such as 10.0.0.0/8",
	reflect.TypeFor[netip.AddrPort](): "an address and port such as 0.0.0.0:1723",
}
