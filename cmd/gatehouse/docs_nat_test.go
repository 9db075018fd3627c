package main

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDocNATRecipe: the ```nft block of docs/pptp.md ("NAT for the client
// pool") is a whole ruleset file that nft accepts in check mode
// (nft -c -f, which changes nothing), and its defines match the default
// pool and TUN device of examples/reference.yaml. nft -c talks to the
// kernel over netlink, so it needs root (or CAP_NET_ADMIN); without nft or
// without the privilege a normal user gets a loud SKIP, root a failure.
func TestDocNATRecipe(t *testing.T) {
	var doc docFile
	for _, d := range loadDocs(t) {
		if d.path == "docs/pptp.md" {
			doc = d
		}
	}
	var rulesets []docBlock
	for _, b := range doc.blocks {
		if b.lang == "nft" {
			rulesets = append(rulesets, b)
		}
	}
	if len(rulesets) == 0 {
		t.Fatal("docs/pptp.md: no ```nft block (the NAT recipe for the client pool)")
	}

	// The defines name the defaults an operator who changes nothing has.
	var ref struct {
		PPTP struct {
			Pool      struct{ First, Last string }
			Interface string
		}
	}
	data, err := os.ReadFile(filepath.Join(docsRoot, "examples", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	defines := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^define (\w+)\s*=\s*(\S+)`).FindAllStringSubmatch(rulesets[0].body, -1) {
		defines[m[1]] = m[2]
	}
	pool, err := netip.ParsePrefix(defines["pool"])
	if err != nil {
		t.Errorf("docs/pptp.md:%d: define pool = %q: %v", rulesets[0].line, defines["pool"], err)
	}
	for _, a := range []string{ref.PPTP.Pool.First, ref.PPTP.Pool.Last} {
		if addr, err := netip.ParseAddr(a); err != nil || !pool.Contains(addr) {
			t.Errorf("docs/pptp.md:%d: define pool = %s does not hold the default pool address %s", rulesets[0].line, pool, a)
		}
	}
	if tun, _ := strconv.Unquote(defines["tun"]); tun != ref.PPTP.Interface {
		t.Errorf("docs/pptp.md:%d: define tun = %s, but pptp.interface defaults to %q", rulesets[0].line, defines["tun"], ref.PPTP.Interface)
	}

	nft := natFindNFT()
	root := os.Geteuid() == 0
	if nft == "" {
		if !root {
			t.Skip("*** SKIP: nft is not installed and this is not root: the NAT recipe of docs/pptp.md is not checked (apt-get install nftables, or run make test as root)")
		}
		t.Fatal("nft is not installed (Debian package nftables); test/install-deps installs it as root")
	}
	check := func(t *testing.T, ruleset string) (string, error) {
		t.Helper()
		f := filepath.Join(t.TempDir(), "ruleset.nft")
		if err := os.WriteFile(f, []byte(ruleset), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(nft, "-c", "-f", f).CombinedOutput()
		if err != nil && !root && strings.Contains(string(out), "Operation not permitted") {
			t.Skipf("*** SKIP: nft -c needs root or CAP_NET_ADMIN: the NAT recipe of docs/pptp.md is not checked (run make test as root)\n%s", out)
		}
		return string(out), err
	}
	for _, b := range rulesets {
		if out, err := check(t, b.body); err != nil {
			t.Errorf("docs/pptp.md:%d: nft -c -f refuses the ruleset: %v\n%s\n%s", b.line, err, out, b.body)
		}
	}
	// nft -c does check: a misspelt statement is refused.
	broken := strings.Replace(rulesets[0].body, "masquerade", "masqerade", 1)
	if broken == rulesets[0].body {
		t.Fatal("the NAT recipe has no masquerade rule")
	}
	if _, err := check(t, broken); err == nil {
		t.Error("nft -c -f accepted a ruleset with a misspelt statement: the check proves nothing")
	}
}

// natFindNFT is the nft binary, or "" when there is none: not every PATH
// (a normal user's) has /usr/sbin.
func natFindNFT() string {
	if p, err := exec.LookPath("nft"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nft", "/sbin/nft"} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}
