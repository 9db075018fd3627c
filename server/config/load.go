package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Load reads, decodes and checks the configuration file at path. The error
// is only for failing to read the file; everything wrong inside it is in
// Problems (errors and warnings, see [Problems.Err]). Relative paths in the
// file are resolved against the file's directory (made absolute).
//
// The Config is never nil: when Problems holds errors it is filled as far as
// the file allowed, so that later checks (policy compilation) can add their
// own problems, but it must not be used to run.
func Load(path string) (*Config, Problems, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	c, ps := parse(path, filepath.Dir(abs), data)
	return c, ps, nil
}

// Parse decodes and checks a configuration held in memory. name is used in
// problems and its directory is the base of relative paths. See [Load].
func Parse(name string, data []byte) (*Config, Problems) {
	return parse(name, filepath.Dir(name), data)
}

func parse(name, dir string, data []byte) (*Config, Problems) {
	c := Default()
	c.File, c.Dir = name, dir
	d := newDecoder(name, data)
	if root := d.parseYAML(data); root != nil {
		d.decode(root, reflect.ValueOf(c).Elem(), "", valueTags{})
		c.positions, c.keyPositions = d.pos, d.keyPos
		c.finish()
		validate(c, d)
	}
	c.resolvePaths()
	d.problems.sort()
	return c, d.problems
}

// finish fills in what the decoder cannot: names, and defaults that depend
// on another section.
func (c *Config) finish() {
	for name, b := range c.Backends.All() {
		if b == nil {
			continue
		}
		b.Name = name
		if b.Timeout == 0 {
			b.Timeout = c.Plugins.CallTimeout
		}
	}
	for name, s := range c.Services.All() {
		if s != nil {
			s.Name = name
		}
	}
}

// resolvePaths applies the rule of the package documentation: state_dir,
// store.dsn_file, plugins.dir, admin.tls_cert_file and tls_key_file and
// the RADIUS clients' secret files (radius_server's and radius_dae's) are
// relative to the config file's directory; store.path, store.key_file, log.file, log.index,
// admin.token_file and admin.socket live in state_dir; plugin
// binaries live in plugins.dir.
func (c *Config) resolvePaths() {
	c.StateDir = under(c.Dir, c.StateDir)
	c.Store.Path = under(c.StateDir, c.Store.Path)
	c.Store.KeyFile = under(c.StateDir, c.Store.KeyFile)
	c.Store.DSNFile = under(c.Dir, c.Store.DSNFile)
	c.Log.File = under(c.StateDir, c.Log.File)
	c.Log.Index = under(c.StateDir, c.Log.Index)
	c.Admin.TokenFile = under(c.StateDir, c.Admin.TokenFile)
	c.Admin.Socket = under(c.StateDir, c.Admin.Socket)
	c.Admin.TLSCertFile = under(c.Dir, c.Admin.TLSCertFile)
	c.Admin.TLSKeyFile = under(c.Dir, c.Admin.TLSKeyFile)
	c.Plugins.Dir = under(c.Dir, c.Plugins.Dir)
	for _, x := range c.Plugins.External {
		if x != nil {
			x.Binary = under(c.Plugins.Dir, x.Binary)
		}
	}
	c.RADIUSAccounting.SecretFile = under(c.Dir, c.RADIUSAccounting.SecretFile)
	for i := range c.RADIUSServer.Clients {
		cl := &c.RADIUSServer.Clients[i]
		cl.SecretFile = under(c.Dir, cl.SecretFile)
	}
	for i := range c.RADIUSDAE.Clients {
		cl := &c.RADIUSDAE.Clients[i]
		cl.SecretFile = under(c.Dir, cl.SecretFile)
	}
}

// under resolves p against dir; empty and absolute paths stay as they are.
func under(dir, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// parseYAML parses the file into a node tree and returns its root, or nil
// after reporting why there is none.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	err := decodeNode(dec, &doc)
	if err == io.EOF || err == nil && (len(doc.Content) == 0 || isNull(doc.Content[0])) {
		d.add(Error, Pos{}, "", "the file is empty; it needs at least backends and services")
		return nil
	}
	if err != nil {
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	switch err := decodeNode(dec, &next); {
	case err == io.EOF:
	case err != nil:
		d.syntaxError(data, err)
	default:
		d.add(Error, nodePos(&next), "", "a second YAML document; the file must hold exactly one")
	}
	return doc.Content[0]
}

// decodeNode parses one document, turning a panic of the parser into an
// error: a malformed file must never take the gateway down.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	return dec.Decode(n)
}

// syntaxError reports a YAML parse error. yaml.v3's messages carry at best a
// line, and for some errors that line is off by one or is where the
// enclosing construct began; so the position is found instead by searching
// for the shortest prefix of the file that fails with the same message. The
// parser reads forward only, so the last byte of that prefix is where it
// gave up.
func (d *decoder) syntaxError(data []byte, err error) {
	msg, line := splitYAMLError(err)
	p := Pos{Line: line}
	if off := locate(data, msg, line); off >= 0 {
		p = offsetPos(data, off)
	}
	text := "invalid YAML: " + msg
	// A tab where indentation belongs is the commonest cause, and the
	// parser's words do not say so.
	if off := lineStart(data, p.Line); off >= 0 {
		if indent := data[off:]; len(indent) > 0 && bytes.IndexByte(indent[:len(indent)-len(bytes.TrimLeft(indent, " \t"))], '\t') >= 0 {
			text = fmt.Sprintf("a tab in the indentation of line %d: YAML indents with spaces only; replace the tab with spaces (%s)", p.Line, msg)
		}
	}
	d.add(Error, p, "", text)
}

// lineStart returns the offset of the start of line (counted from 1), or -1.
func lineStart(data []byte, line int) int {
	if line < 1 {
		return -1
	}
	off := 0
	for i := 1; i < line; i++ {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			return -1
		}
		off += nl + 1
	}
	return off
}

// splitYAMLError splits "yaml: line 3: did not find expected key" into the
// message and the line (0 when absent).
func splitYAMLError(err error) (string, int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			return text, n
		}
	}
	return msg, 0
}

// locate returns the offset of the byte at which parsing data fails with
// msg, or -1. line is the line yaml.v3 named (0 for none): the failure is
// never before the start of that line, and starting the search there keeps
// it from stopping at an earlier prefix that fails the same way because it
// was cut inside a flow collection or a quoted string.
func locate(data []byte, msg string, line int) int {
	fails := func(k int) bool {
		m, _ := splitYAMLError(parseAll(data[:k]))
		return m == msg
	}
	if !fails(len(data)) {
		return -1
	}
	lo, hi := 0, len(data)
	for i := 1; i < line && lo < len(data); i++ {
		nl := bytes.IndexByte(data[lo:], '\n')
		if nl < 0 {
			break
		}
		lo += nl + 1
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return max(hi-1, 0)
}

var errNone = errors.New("no error")

// parseAll parses every document of data and returns the first error, or
// errNone.
func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		switch err := decodeNode(dec, &n); err {
		case nil:
		case io.EOF:
			return errNone
		default:
			return err
		}
	}
}

// offsetPos converts a byte offset into a line and a column counted in
// characters, as yaml.v3 counts them.
func offsetPos(data []byte, off int) Pos {
	off = min(off, len(data))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	start := bytes.LastIndexByte(before, '\n') + 1
	return Pos{line, utf8.RuneCount(before[start:]) + 1}
}
