package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

const (
	referenceFile  = "../../examples/reference.yaml"
	quickstartFile = "../../examples/quickstart/gatehouse.yaml"
)

func load(t *testing.T, path string) (*Config, Problems) {
	t.Helper()
	c, ps, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return c, ps
}

func TestReferenceLoads(t *testing.T) {
	c, ps := load(t, referenceFile)
	if len(ps) > 0 {
		t.Fatalf("reference.yaml has problems:\n%v", ps)
	}
	want := []string{"Password", "OATH", "DIGIPASS", "DirectoryService", "corp-ad", "RADIUS", "vendor"}
	if got := c.Backends.Keys(); !slices.Equal(got, want) {
		t.Errorf("back-ends in order %v, want file order %v", got, want)
	}
	if got := c.Services.Keys(); !slices.Equal(got, []string{"pptp", "radius"}) {
		t.Errorf("services in order %v", got)
	}
}

func TestQuickstartLoads(t *testing.T) {
	c, ps := load(t, quickstartFile)
	if err := ps.Err(); err != nil {
		t.Fatalf("quickstart has errors:\n%v", err)
	}
	// The memory back-ends warn, and nothing else does.
	for _, p := range ps {
		if !strings.Contains(p.Msg, "secrets in plaintext") {
			t.Errorf("unexpected warning: %v", p)
		}
	}
	if len(ps) != 2 {
		t.Errorf("got %d warnings, want 2 (one per memory back-end)", len(ps))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "var"); c.StateDir != want {
		t.Errorf("state_dir = %s, want %s (the repository's var/)", c.StateDir, want)
	}
	if c.PPTP.Enabled {
		t.Error("pptp is enabled in the quickstart")
	}
	if got := c.Admin.Listen.String(); got != "127.0.0.1:9723" {
		t.Errorf("admin.listen = %s", got)
	}
	codes, _ := c.Backends.Get("Codes")
	if info := codes.Info(); !info.OneTime || !slices.Equal(info.FragmentLengths, []int{6}) {
		t.Errorf("Codes info = %+v", info)
	}
	demo, _ := c.Backends.Get("Demo")
	if s := demo.Memory.Users["alice"]; len(s) != 1 || s[0].Reveal() != "correct horse" {
		t.Errorf("Demo alice secrets = %v", s)
	}
	if s, _ := c.Services.Get("pptp"); s.Policy != "Demo and Codes" {
		t.Errorf("pptp policy = %q", s.Policy)
	}
	if s, _ := c.Services.Get("radius"); s.Policy != "Demo" {
		t.Errorf("radius policy = %q", s.Policy)
	}
}

// minimal holds only what has no default: back-ends and services. The
// back-ends and services repeat reference.yaml's names and policies but
// leave every optional key out.
const minimal = `
backends:
  Password: {type: local}
  OATH: {type: oath}
  DIGIPASS: {type: digipass}
services:
  pptp: {policy: (Password and OATH) or DIGIPASS}
  radius: {policy: Password and OATH}
`

// TestDefaultsMatchReference checks that reference.yaml, which writes every
// default out, says what Default and the setDefaults methods say: a default
// changed in one place and not the other fails here. Together with
// TestReferenceWritesEveryKey (without which an omitted key would compare
// equal trivially), it keeps the two in step.
func TestDefaultsMatchReference(t *testing.T) {
	ref, ps := load(t, referenceFile)
	if len(ps) > 0 {
		t.Fatalf("reference.yaml has problems:\n%v", ps)
	}
	abs, err := filepath.Abs(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	// Parsed under reference.yaml's name so relative paths resolve alike.
	def, ps := Parse(abs, []byte(minimal))
	if len(ps) > 0 {
		t.Fatalf("minimal file has problems:\n%v", ps)
	}

	// plugins.external is the one section where reference.yaml shows an
	// entry rather than the (empty) default, so that its plugin back-end
	// is a working example.
	refPlugins, minPlugins := ref.Plugins, def.Plugins
	refPlugins.External, minPlugins.External = nil, nil
	sections := []struct {
		name     string
		ref, def any
	}{
		{"state_dir", ref.StateDir, def.StateDir},
		{"log", ref.Log, def.Log},
		{"admin", ref.Admin, def.Admin},
		{"store", ref.Store, def.Store},
		{"plugins", refPlugins, minPlugins},
		{"pptp", ref.PPTP, def.PPTP},
		{"firewall", ref.Firewall, def.Firewall},
		{"radius_server", ref.RADIUSServer, def.RADIUSServer},
		{"radius_accounting", ref.RADIUSAccounting, def.RADIUSAccounting},
	}
	for _, s := range sections {
		if !reflect.DeepEqual(s.ref, s.def) {
			t.Errorf("%s: reference.yaml says\n\t%+v\nthe defaults say\n\t%+v", s.name, s.ref, s.def)
		}
	}

	for _, name := range def.Backends.Keys() {
		r, _ := ref.Backends.Get(name)
		m, _ := def.Backends.Get(name)
		r2, m2 := *r, *m
		r2.Pos, m2.Pos = Pos{}, Pos{}
		if !reflect.DeepEqual(r2, m2) {
			t.Errorf("backends.%s: reference.yaml says\n\t%s\nthe defaults say\n\t%s", name, backendString(r2), backendString(m2))
		}
	}
	for _, name := range def.Services.Keys() {
		r, _ := ref.Services.Get(name)
		m, _ := def.Services.Get(name)
		r2, m2 := *r, *m
		r2.Pos, m2.Pos, r2.PolicyPos, m2.PolicyPos = Pos{}, Pos{}, Pos{}, Pos{}
		if !reflect.DeepEqual(r2, m2) {
			t.Errorf("services.%s: reference.yaml says\n\t%+v\nthe defaults say\n\t%+v", name, r2, m2)
		}
	}
}

// TestReferenceWritesEveryKey checks that reference.yaml writes every key of
// every section, of every back-end type with options, and of a service.
func TestReferenceWritesEveryKey(t *testing.T) {
	ref, _ := load(t, referenceFile)
	var missing []string
	check := func(prefix string, typ reflect.Type) {
		for _, path := range keyPaths(prefix, typ) {
			if !ref.Has(path) {
				missing = append(missing, path)
			}
		}
	}
	for _, key := range []string{"state_dir", "log", "admin", "store", "plugins", "pptp", "firewall", "radius_server", "radius_accounting"} {
		f, ok := getStructInfo(reflect.TypeFor[Config]()).field(key)
		if !ok {
			t.Fatalf("no section %s", key)
		}
		check(key, reflect.TypeFor[Config]().Field(f.index).Type)
	}
	check("backends.OATH", reflect.TypeFor[OATH]())
	check("backends.DIGIPASS", reflect.TypeFor[Digipass]())
	check("backends.Password.timeout", durationType)
	check("services.pptp", reflect.TypeFor[Service]())
	if len(missing) > 0 {
		t.Errorf("reference.yaml does not write %s", strings.Join(missing, ", "))
	}
}

// keyPaths lists the paths of every key under a value of type t written at
// prefix, descending into structs only.
func keyPaths(prefix string, t reflect.Type) []string {
	if !isMapping(t) || t.Kind() != reflect.Struct {
		return []string{prefix}
	}
	var out []string
	for _, f := range getStructInfo(t).fields {
		out = append(out, keyPaths(prefix+"."+f.key, t.Field(f.index).Type)...)
	}
	return out
}

func TestDefaultIsFresh(t *testing.T) {
	a, b := Default(), Default()
	a.Log.Level = LogDebug
	if b.Log.Level != LogInfo {
		t.Error("Default shares state between calls")
	}
}

func TestBackendTimeoutDefaultsToCallTimeout(t *testing.T) {
	c, ps := Parse("gatehouse.yaml", []byte(`plugins: {call_timeout: 5s}
backends:
  A: {type: local}
  B: {type: local, timeout: 1s}
services:
  pptp: {policy: A}
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	a, _ := c.Backends.Get("A")
	b, _ := c.Backends.Get("B")
	if a.Timeout != 5*time.Second || b.Timeout != time.Second {
		t.Errorf("timeouts %v %v, want 5s 1s", a.Timeout, b.Timeout)
	}
	if a.Name != "A" || b.Name != "B" {
		t.Errorf("names %q %q", a.Name, b.Name)
	}
}

func TestPolicyPos(t *testing.T) {
	tests := []struct {
		name, service string
		want          Pos
	}{
		{"plain", "  pptp:\n    policy: A and B\n", Pos{5, 13}},
		{"double quoted", "  pptp:\n    policy: \"A and B\"\n", Pos{5, 14}},
		{"single quoted", "  pptp:\n    policy: 'A and B'\n", Pos{5, 14}},
		{"flow", "  pptp: {policy: A and B}\n", Pos{4, 18}},
		{"literal block", "  pptp:\n    policy: |\n\n      A and B\n", Pos{7, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "backends:\n  A: {type: local}\nservices:\n" + tt.service + "pptp: {enabled: false}\n"
			c, ps := Parse("gatehouse.yaml", []byte(text))
			if len(ps) > 0 {
				t.Fatal(ps)
			}
			s, _ := c.Services.Get("pptp")
			want := tt.want
			if s.PolicyPos != want {
				t.Errorf("PolicyPos = %v, want %v", s.PolicyPos, want)
			}
			// Column 7 of "A and B" is the B.
			if got := s.PolicyColumn(7); got != (Pos{want.Line, want.Col + 6}) {
				t.Errorf("PolicyColumn(7) = %v", got)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	c, ps := Parse("/etc/gatehouse/gatehouse.yaml", []byte(`
state_dir: state
log: {file: gatehouse.log}
store: {driver: postgres, dsn_file: pg.dsn, key_file: /keys/k}
plugins:
  dir: plugins
  external:
    x: {binary: bin/x, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
    y: {binary: /opt/y, sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08}
backends:
  A: {type: local}
services:
  pptp: {policy: A}
radius_server:
  clients: [{prefix: 10.0.0.0/8, secret_file: radius.secret}]
`))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	checks := []struct{ what, got, want string }{
		{"state_dir", c.StateDir, "/etc/gatehouse/state"},
		{"log.file", c.Log.File, "/etc/gatehouse/state/gatehouse.log"},
		{"store.path", c.Store.Path, "/etc/gatehouse/state/store/gatehouse.db"},
		{"store.dsn_file", c.Store.DSNFile, "/etc/gatehouse/pg.dsn"},
		{"store.key_file", c.Store.KeyFile, "/keys/k"},
		{"plugins.dir", c.Plugins.Dir, "/etc/gatehouse/plugins"},
		{"plugins.external.x.binary", c.Plugins.External["x"].Binary, "/etc/gatehouse/plugins/bin/x"},
		{"plugins.external.y.binary", c.Plugins.External["y"].Binary, "/opt/y"},
		{"plugins.external.y.sha256", c.Plugins.External["y"].SHA256, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{"radius_server.clients[0].secret_file", c.RADIUSServer.Clients[0].SecretFile, "/etc/gatehouse/radius.secret"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %s, want %s", ch.what, ch.got, ch.want)
		}
	}
	if c.Dir != "/etc/gatehouse" || c.File != "/etc/gatehouse/gatehouse.yaml" {
		t.Errorf("File, Dir = %s, %s", c.File, c.Dir)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestLoadNamesTheFileAsGiven(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(path, []byte("log: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, ps, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := path + `:1:1: missing required key "services"`
	if len(ps) == 0 || ps[len(ps)-1].String() != want {
		t.Errorf("problems:\n%v\nwant last: %s", ps, want)
	}
}

func TestProblemsFilters(t *testing.T) {
	_, ps := Parse("g.yaml", []byte("backends:\n  Demo: {type: memory}\nservices:\n  pptp: {policy: Demo}\npptp: {mtu: 1}\n"))
	if len(ps.Errors()) != 1 || len(ps.Warnings()) != 1 {
		t.Fatalf("errors %v, warnings %v", ps.Errors(), ps.Warnings())
	}
	if ps.Err() == nil {
		t.Error("Err() is nil despite an error")
	}
	if ps.Warnings().Err() != nil {
		t.Error("warnings alone make an error")
	}
	want := "g.yaml:2:3: warning: backends.Demo: secrets in plaintext in the config, for tests and demos only\n" +
		"g.yaml:5:13: pptp.mtu: must be from 576 to 1500, got 1"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "g.yaml", Line: 12, Col: 5, Path: "services.pptp", Msg: `unknown key "polcy"; did you mean "policy"?`},
			`g.yaml:12:5: services.pptp: unknown key "polcy"; did you mean "policy"?`},
		{Problem{File: "g.yaml", Line: 3, Msg: "invalid YAML: x"}, "g.yaml:3: invalid YAML: x"},
		{Problem{File: "g.yaml", Msg: "the file is empty"}, "g.yaml: the file is empty"},
		{Problem{File: "g.yaml", Line: 1, Col: 1, Msg: "m", Severity: Warning}, "g.yaml:1:1: warning: m"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("got %s, want %s", got, tt.want)
		}
	}
}

func TestSecretsRedacted(t *testing.T) {
	c, _ := Parse("g.yaml", []byte("backends:\n  Demo: {type: memory, users: {alice: [hunter2]}}\nservices:\n  pptp: {policy: Demo}\n"))
	demo, _ := c.Backends.Get("Demo")
	if s := strings.Join([]string{fmt.Sprintf("%v %+v %#v", demo.Memory, demo.Memory, demo.Memory), fmt.Sprintf("%+v", c)}, ""); strings.Contains(s, "hunter2") {
		t.Errorf("a secret leaks when a config is printed: %s", s)
	}
	if got := demo.Memory.Users["alice"][0]; !got.Equal(authpolicy.NewSecret("hunter2")) {
		t.Error("secret not kept")
	}
}

// backendString prints a back-end with its type-specific options rather than
// their addresses.
func backendString(b Backend) string {
	s := fmt.Sprintf("%+v", b)
	v := reflect.ValueOf(b)
	for _, f := range getStructInfo(v.Type()).variants {
		if p := v.Field(f.index); !p.IsNil() {
			s += fmt.Sprintf(" %s: %+v", f.when, p.Elem().Interface())
		}
	}
	return s
}
