package ldap_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/plugins/ldap"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

// examples/reference.yaml writes every option of the plugin, and every
// ldap back-end there is accepted by it (the docs cannot rot).
func TestReferenceOptions(t *testing.T) {
	cfg, ps, err := config.Load("../../examples/reference.yaml")
	if err != nil || ps.Err() != nil {
		t.Fatalf("%v %v", err, ps)
	}
	var keys []string
	for _, k := range ldap.ConfigKeys() {
		keys = append(keys, k.Name)
	}
	n := 0
	for name, b := range cfg.Backends.All() {
		if b.Type != config.BackendLDAP {
			continue
		}
		n++
		for k := range b.LDAP.Options {
			if !slices.Contains(keys, k) {
				t.Errorf("backends.%s: option %s is not one of the plugin's %v", name, k, keys)
			}
		}
		opts := map[string]string{}
		for k, v := range b.LDAP.Options {
			opts[k] = v
		}
		// The files are examples that do not exist here.
		delete(opts, "ca_file")
		if opts["bind_password_file"] != "" {
			delete(opts, "bind_password_file")
			opts["bind_password"] = "x"
		}
		if _, err := ldap.ParseOptions(opts); err != nil {
			t.Errorf("backends.%s: %v", name, err)
		}
	}
	if n == 0 {
		t.Fatal("no ldap back-end in reference.yaml")
	}
	// Every option is written (some as a comment) in the reference.
	b, _ := cfg.Backends.Get("DirectoryService")
	text := readFile(t, "../../examples/reference.yaml")
	for _, k := range keys {
		if _, ok := b.LDAP.Options[k]; !ok && !containsLine(text, "# "+k+":") && k != "bind_password" && k != "ca_pem" {
			t.Errorf("reference.yaml does not show option %s", k)
		}
	}
}

// The examples of plugins/ldap/README.md load as back-ends and the plugin
// accepts their options.
func TestREADMEExamples(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(readFile(t, "README.md"), -1)
	if len(blocks) < 2 {
		t.Fatalf("%d yaml blocks in README.md", len(blocks))
	}
	for _, m := range blocks {
		text := "backends:\n  " + strings.ReplaceAll(strings.TrimSpace(m[1]), "\n", "\n  ") + "\nservices:\n  pptp: {policy: x}\n"
		name := strings.TrimSuffix(strings.SplitN(strings.TrimSpace(m[1]), "\n", 2)[0], ":")
		text = strings.Replace(text, "{policy: x}", "{policy: "+name+"}", 1)
		cfg, ps := config.Parse("README.md", []byte(text))
		if ps.Err() != nil {
			t.Fatalf("%s\n%v", text, ps)
		}
		b, _ := cfg.Backends.Get(name)
		opts := map[string]string{}
		for k, v := range b.LDAP.Options {
			opts[k] = v
		}
		delete(opts, "ca_file")
		delete(opts, "bind_password_file")
		opts["bind_password"] = "x"
		if _, err := ldap.ParseOptions(opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
