package config

// Checks that need more than one value at a time, run after decoding. Like
// the decoder, they report every problem rather than stopping at the first,
// each at the position of the value at fault.

import (
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

type validator struct {
	c *Config
	d *decoder
}

func validate(c *Config, d *decoder) {
	v := &validator{c, d}
	v.backends()
	v.services()
	v.plugins()
	v.store()
	v.pptp()
	v.firewall()
	v.radiusServer()
	v.radiusAccounting()
	v.admin()
}

// at is the position of the value at path, or of the nearest written value
// enclosing it.
func (v *validator) at(path string) Pos { return v.c.Pos(path) }

// atKey is the position of the key naming path (a back-end's name), falling
// back to the value.
func (v *validator) atKey(path string) Pos {
	if p, ok := v.d.keyPos[path]; ok {
		return p
	}
	return v.at(path)
}

func (v *validator) errorf(p Pos, path, format string, args ...any) {
	v.d.add(Error, p, path, fmt.Sprintf(format, args...))
}

func (v *validator) warnf(p Pos, path, format string, args ...any) {
	v.d.add(Warning, p, path, fmt.Sprintf(format, args...))
}

// unknownRef reports that the name at path refers to nothing among defined.
func (v *validator) unknownRef(path, what, name, section string, defined []string) {
	msg := fmt.Sprintf("%s %q is not defined in %s", what, name, section)
	if s := suggest(name, defined); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else if len(defined) > 0 {
		msg += " (defined: " + strings.Join(defined, ", ") + ")"
	} else {
		msg += " (it has none)"
	}
	v.errorf(v.at(path), path, "%s", msg)
}

// checkName checks a back-end name: it must be usable as a NAME of the
// policy language.
func checkName(name string) string {
	if strings.EqualFold(name, "and") || strings.EqualFold(name, "or") {
		return fmt.Sprintf("back-end name %q is a keyword of the policy language; choose another", name)
	}
	for i, r := range name {
		letter := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
		if i == 0 && !letter {
			return fmt.Sprintf("back-end name %q must start with a letter", name)
		}
		if !letter && !('0' <= r && r <= '9') && r != '-' && r != '_' {
			return fmt.Sprintf("back-end name %q may hold only letters, digits, '-' and '_'", name)
		}
	}
	return ""
}

func (v *validator) backends() {
	c := v.c
	if c.Backends.Len() == 0 && c.Has("backends") {
		v.errorf(v.at("backends"), "backends", "define at least one back-end")
	}
	for name, b := range c.Backends.All() {
		path := "backends." + name
		if msg := checkName(name); msg != "" {
			v.errorf(v.atKey(path), path, "%s", msg)
		}
		if b == nil {
			continue
		}
		switch {
		case b.Memory != nil:
			v.warnf(v.atKey(path), path, "secrets in plaintext in the config, for tests and demos only")
			v.memory(path, b.Memory)
		case b.Plugin != nil:
			v.pluginBackend(path, b.Plugin)
		case b.Digipass != nil && len(b.Digipass.Digits) == 0:
			v.errorf(v.at(path+".digits"), path+".digits", "list the code lengths the tokens show, such as [6, 8]")
		}
	}
}

func (v *validator) memory(path string, m *Memory) {
	if len(m.Lengths) == 0 {
		return
	}
	for _, user := range sortedKeys(m.Users) {
		for i, s := range m.Users[user] {
			if !slices.Contains(m.Lengths, s.Len()) {
				p := fmt.Sprintf("%s.users.%s[%d]", path, user, i)
				v.errorf(v.at(p), p, "secret is %s long, but lengths allows only %s", bytesLong(s.Len()), intList(m.Lengths))
			}
		}
	}
}

func (v *validator) pluginBackend(path string, pb *PluginBackend) {
	if pb.Plugin != "" {
		if _, ok := v.c.Plugins.External[pb.Plugin]; !ok {
			v.unknownRef(path+".plugin", "plugin", pb.Plugin, "plugins.external", sortedKeys(v.c.Plugins.External))
		}
	}
	if len(pb.Capabilities) == 0 {
		v.errorf(v.atKey(path), path, "a plugin back-end needs capabilities: any of %s", strings.Join(capabilityNames(), ", "))
	}
	for i, name := range pb.Capabilities {
		if _, ok := authpolicy.ParseCapability(name); !ok {
			p := fmt.Sprintf("%s.capabilities[%d]", path, i)
			msg := fmt.Sprintf("unknown capability %q; valid: %s", name, strings.Join(capabilityNames(), ", "))
			if s := suggest(name, capabilityNames()); s != "" {
				msg = fmt.Sprintf("unknown capability %q; did you mean %q? (valid: %s)", name, s, strings.Join(capabilityNames(), ", "))
			}
			v.errorf(v.at(p), p, "%s", msg)
		}
	}
}

// capabilityNames lists the names authpolicy knows, in its order.
func capabilityNames() []string {
	var out []string
	for bit := range 8 {
		if s := authpolicy.Capability(1 << bit).String(); s != "none" {
			out = append(out, s)
		}
	}
	return out
}

func (v *validator) services() {
	c := v.c
	if c.Services.Len() == 0 && c.Has("services") {
		v.errorf(v.at("services"), "services", "define at least one service")
	}
	for name, s := range c.Services.All() {
		path := "services." + name + ".policy"
		if s != nil && strings.TrimSpace(s.Policy) == "" && c.Has(path) {
			v.errorf(v.at(path), path, "must not be empty; write a policy such as \"Password and OATH\"")
		}
	}
}

func (v *validator) plugins() {
	for _, name := range sortedKeys(v.c.Plugins.External) {
		x := v.c.Plugins.External[name]
		path := "plugins.external." + name
		if x == nil {
			continue
		}
		if x.Binary == "" && v.c.Has(path+".binary") {
			v.errorf(v.at(path+".binary"), path+".binary", "must not be empty")
		}
		if b, err := hex.DecodeString(x.SHA256); (err != nil || len(b) != 32) && v.c.Has(path+".sha256") {
			v.errorf(v.at(path+".sha256"), path+".sha256", "expected 64 hexadecimal digits (the binary's SHA-256, as sha256sum prints it), got %s", quote(x.SHA256))
		}
		x.SHA256 = strings.ToLower(x.SHA256)
	}
}

func (v *validator) store() {
	s := v.c.Store
	switch s.Driver {
	case StorePostgres:
		if s.DSNFile == "" {
			v.errorf(v.at("store.driver"), "store", "driver postgres needs dsn_file, the file holding the connection string")
		}
	case StoreSQLite:
		if s.Path == "" {
			v.errorf(v.at("store.path"), "store.path", "driver sqlite needs the path of the database file")
		}
		if v.c.Has("store.dsn_file") && s.DSNFile != "" {
			v.warnf(v.at("store.dsn_file"), "store.dsn_file", "is read only with driver postgres; this store is SQLite (%s)", s.Path)
		}
	}
	if s.KeyFile == "" {
		v.errorf(v.at("store.key_file"), "store.key_file", "must not be empty: the key seals the local passwords")
	}
}

func (v *validator) pptp() {
	p := v.c.PPTP
	if p.Enabled {
		v.serviceRef("pptp.service", p.Service)
		if !p.Listen.IsValid() {
			v.errorf(v.at("pptp.listen"), "pptp.listen", "must be set while pptp is enabled, such as 0.0.0.0:1723")
		}
	}
	v.pool(p)
	for _, list := range []struct {
		key   string
		addrs []netip.Addr
	}{{"dns", p.DNS}, {"wins", p.WINS}} {
		for i, a := range list.addrs {
			path := fmt.Sprintf("pptp.%s[%d]", list.key, i)
			if i == 2 {
				v.errorf(v.at(path), "pptp."+list.key, "at most 2 servers (IPCP offers a primary and a secondary), got %d", len(list.addrs))
			}
			if !a.Is4() {
				v.errorf(v.at(path), path, "must be an IPv4 address (IPCP offers IPv4 servers only), got %s", a)
			}
		}
	}
	if p.EchoInterval > 0 && p.EchoTimeout <= p.EchoInterval {
		v.errorf(v.at("pptp.echo_timeout"), "pptp.echo_timeout", "must be longer than echo_interval (%s), got %s", p.EchoInterval, p.EchoTimeout)
	}

	weak := []struct {
		on   bool
		path string
		msg  string
	}{
		{p.Auth.PAP, "pptp.auth.pap", "PAP sends the password in clear text and gives no MPPE keys; turn it on only for clients that can do nothing else"},
		{p.Auth.CHAPMD5, "pptp.auth.chap_md5", "CHAP-MD5 gives no MPPE keys, so the session cannot be encrypted; turn it on only for clients that can do nothing else"},
		{p.Auth.MSCHAPv1, "pptp.auth.mschapv1", "MS-CHAPv1 responses can be cracked offline; turn it on only for clients that can do nothing else"},
		{p.MPPE.Bits40, "pptp.mppe.bits_40", "40-bit MPPE keys can be found by brute force; recorded traffic is readable"},
		{p.MPPE.Bits56, "pptp.mppe.bits_56", "56-bit MPPE keys can be found by brute force; recorded traffic is readable"},
		{!p.MPPE.Required, "pptp.mppe.required", "sessions may run unencrypted"},
	}
	for _, w := range weak {
		if w.on {
			v.warnf(v.at(w.path), w.path, "%s", w.msg)
		}
	}
	if p.Auth.MSCHAPv1 && (p.MPPE.Bits40 || p.MPPE.Bits56) {
		v.warnf(v.at("pptp.auth.mschapv1"), "pptp.auth.mschapv1", "after MS-CHAPv1, 40- and 56-bit MPPE keys come from the LAN Manager hash (RFC 3079 section 2), which Gatehouse never has: it keys them from the NT hash as Linux does, and Linux pppd refuses them anyway; MS-CHAPv1 clients should use 128-bit")
	}
}

func (v *validator) pool(p PPTP) {
	first, last := p.Pool.First, p.Pool.Last
	switch {
	case !first.IsValid():
		v.errorf(v.at("pptp.pool.first"), "pptp.pool.first", "must be set, such as 10.99.0.10")
	case !last.IsValid():
		v.errorf(v.at("pptp.pool.last"), "pptp.pool.last", "must be set, such as 10.99.0.250")
	case first.Is4() != last.Is4():
		v.errorf(v.at("pptp.pool.last"), "pptp.pool", "first %s and last %s are of different address families", first, last)
	case !first.Is4():
		v.errorf(v.at("pptp.pool.first"), "pptp.pool", "must hold IPv4 addresses (PPP's IPCP assigns IPv4 only), got %s", first)
	case last.Less(first):
		v.errorf(v.at("pptp.pool.first"), "pptp.pool", "first %s comes after last %s", first, last)
	default:
		size := ipv4Uint(last) - ipv4Uint(first) + 1
		if uint64(size) < uint64(p.MaxConnections) {
			v.warnf(v.at("pptp.max_connections"), "pptp.max_connections", "the pool %s-%s holds %d addresses, fewer than max_connections %d", first, last, size, p.MaxConnections)
		}
		if l := p.LocalAddress; l.IsValid() && inRange(l, first, last) {
			v.errorf(v.at("pptp.local_address"), "pptp.local_address", "%s lies inside the pool %s-%s; the gateway's own address must not be handed to a client", l, first, last)
		}
	}
	switch l := p.LocalAddress; {
	case !l.IsValid():
		v.errorf(v.at("pptp.local_address"), "pptp.local_address", "must be set, such as 10.99.0.1")
	case !l.Is4():
		v.errorf(v.at("pptp.local_address"), "pptp.local_address", "must be an IPv4 address (PPP's IPCP assigns IPv4 only), got %s", l)
	}
}

func inRange(a, first, last netip.Addr) bool {
	return !a.Less(first) && !last.Less(a)
}

func ipv4Uint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (v *validator) serviceRef(path, name string) {
	if v.c.Services.Len() == 0 {
		return // reported already: services is missing or empty
	}
	if name == "" {
		v.errorf(v.at(path), path, "must name a service")
		return
	}
	if !v.c.Services.Has(name) {
		what := "service"
		if !v.c.Has(path) {
			what = "the default service" // the operator may not know it exists
		}
		v.unknownRef(path, what, name, "services", v.c.Services.Keys())
	}
}

func (v *validator) firewall() {
	f := v.c.Firewall
	policies := f.Policies.Keys()
	ref := func(path, name string) {
		if !f.Policies.Has(name) {
			v.unknownRef(path, "policy", name, "firewall.policies", policies)
		}
	}
	for name, rules := range f.Policies.All() {
		for i, r := range rules {
			path := fmt.Sprintf("firewall.policies.%s[%d]", name, i)
			if len(r.Ports) > 0 && r.Proto != ProtoTCP && r.Proto != ProtoUDP {
				v.errorf(v.at(path+".ports"), path+".ports", "ports need proto tcp or udp, got proto %s", r.Proto)
			}
			if r.To.IsValid() && r.To != r.To.Masked() {
				v.errorf(v.at(path+".to"), path+".to", "%s has host bits set; write %s", r.To, r.To.Masked())
			}
		}
	}
	for _, g := range sortedKeys(f.Groups) {
		ref("firewall.groups."+g, f.Groups[g])
	}
	for _, u := range sortedKeys(f.Users) {
		uf, path := f.Users[u], "firewall.users."+u
		switch {
		case uf.Mode == FirewallUseGroup && uf.Policy != "":
			v.errorf(v.at(path+".policy"), path+".policy", "mode use_group takes no policy; use add_to_group or overrule_group")
		case uf.Mode != FirewallUseGroup && uf.Mode != "" && uf.Policy == "":
			v.errorf(v.atKey(path), path, "mode %s needs a policy", uf.Mode)
		case uf.Policy != "":
			ref(path+".policy", uf.Policy)
		}
	}
	if f.DefaultPolicy != "" {
		ref("firewall.default_policy", f.DefaultPolicy)
	}
}

func (v *validator) radiusServer() {
	r := v.c.RADIUSServer
	if r.Enabled {
		v.serviceRef("radius_server.service", r.Service)
		if !r.Listen.IsValid() {
			v.errorf(v.at("radius_server.listen"), "radius_server.listen", "must be set while radius_server is enabled, such as 0.0.0.0:1812")
		}
		if len(r.Clients) == 0 {
			v.warnf(v.at("radius_server.clients"), "radius_server.clients", "no clients: every request will be dropped")
		}
		if r.CHAP {
			v.warnf(v.at("radius_server.chap"), "radius_server.chap", "a recorded CHAP-MD5 login lets anyone test password guesses offline; turn it on only for NASes that can do nothing else")
		}
	}
	if m := r.ChallengeMessage; m == "" || len(m) > 253 {
		v.errorf(v.at("radius_server.challenge_message"), "radius_server.challenge_message", "must be 1 to 253 bytes long (it is the Reply-Message of the Access-Challenge)")
	}
	for name, s := range v.c.Services.All() {
		radius := r.Enabled && r.Service == name
		pptp := v.c.PPTP.Enabled && v.c.PPTP.Service == name
		if s != nil && s.Challenge && pptp && !radius {
			path := "services." + name + ".challenge"
			v.warnf(v.at(path), path, "challenge only applies to the RADIUS front door (Access-Challenge), and only the PPTP front door uses this service: PPTP cannot show a second prompt, so its users keep typing the password and the code together")
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.ReplyAttributes)) {
		path := "radius_server.reply_attributes." + name
		val := r.ReplyAttributes[name]
		switch name {
		case "Filter-Id", "Class", "Reply-Message":
			if len(val) == 0 || len(val) > 253 {
				v.errorf(v.at(path), path, "must be 1 to 253 bytes long")
			}
		case "Session-Timeout", "Idle-Timeout", "Framed-MTU", "Acct-Interim-Interval":
			if _, err := strconv.ParseUint(val, 10, 32); err != nil {
				v.errorf(v.at(path), path, "%q is not a whole number of seconds (or bytes, for Framed-MTU)", val)
			}
		default:
			v.errorf(v.atKey(path), path, "unknown attribute; the front door can add Filter-Id, Class, Reply-Message, Session-Timeout, Idle-Timeout, Framed-MTU, Acct-Interim-Interval")
		}
	}
	for i, cl := range r.Clients {
		path := fmt.Sprintf("radius_server.clients[%d]", i)
		if cl.Prefix.IsValid() && cl.Prefix != cl.Prefix.Masked() {
			v.errorf(v.at(path+".prefix"), path+".prefix", "%s has host bits set; write %s", cl.Prefix, cl.Prefix.Masked())
		}
		if cl.SecretFile == "" && v.c.Has(path+".secret_file") {
			v.errorf(v.at(path+".secret_file"), path+".secret_file", "must not be empty")
		}
	}
}

func (v *validator) radiusAccounting() {
	a := v.c.RADIUSAccounting
	for i, s := range a.Servers {
		path := fmt.Sprintf("radius_accounting.servers[%d]", i)
		if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
			v.errorf(v.at(path), path, "%q is not host:port, such as 192.0.2.10:1813", s)
		}
	}
	if len(a.Servers) > 0 && a.SecretFile == "" {
		v.errorf(v.at("radius_accounting"), "radius_accounting.secret_file", "must be set when radius_accounting.servers is")
	}
}

func (v *validator) admin() {
	a := v.c.Admin
	switch {
	case a.TLSCertFile != "" && a.TLSKeyFile == "":
		v.errorf(v.at("admin.tls_cert_file"), "admin.tls_key_file", "tls_cert_file needs tls_key_file, the certificate's private key (PEM): set both or neither")
	case a.TLSKeyFile != "" && a.TLSCertFile == "":
		v.errorf(v.at("admin.tls_key_file"), "admin.tls_cert_file", "tls_key_file needs tls_cert_file, the certificate (PEM, chain included): set both or neither")
	}
	if a.TLS() && !a.Listen.IsValid() {
		v.warnf(v.at("admin.tls_cert_file"), "admin.tls_cert_file", `TLS applies to the TCP listener, and admin.listen is "": nothing is served over TLS`)
	}
	if a.TLS() && a.Listen.IsValid() && a.Socket == "" {
		v.warnf(v.at("admin.tls_cert_file"), "admin.socket", "the gatehouse commands that ask the running gateway (sessions, logs, plugin list) speak plain HTTP to admin.listen, which now serves HTTPS only; set admin.socket for them")
	}
	if !a.Console {
		return
	}
	switch {
	case !a.Listen.IsValid():
		v.errorf(v.at("admin.console"), "admin.console", `the console is served on the TCP listener only (a browser cannot reach the Unix socket), and admin.listen is ""; set admin.listen, such as 127.0.0.1:9723, or turn the console off`)
	case !a.Listen.Addr().Unmap().IsLoopback() && !a.TLS():
		port := a.Listen.Port()
		v.errorf(v.at("admin.console"), "admin.console",
			"admin.listen %s is not a loopback address and the listener has no TLS: the console's sign-in cookies are Secure, so browsers would not send them back over plain HTTP, and operators' passwords would cross the network in the clear; "+
				"set admin.tls_cert_file and admin.tls_key_file, or listen on 127.0.0.1:%d and reach it through an SSH tunnel (ssh -L %d:127.0.0.1:%d GATEWAY)",
			a.Listen, port, port, port)
	}
}

func bytesLong(n int) string {
	if n == 1 {
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

func intList(list []int) string {
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, " or ")
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
