package radiuspeer

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is the FreeRADIUS daemon the harness runs: $GATEHOUSE_FREERADIUS,
// else Debian's /usr/sbin/freeradius.
var Binary = func() string {
	if b := os.Getenv("GATEHOUSE_FREERADIUS"); b != "" {
		return b
	}
	return "/usr/sbin/freeradius"
}()

// User is one entry of the users file.
type User struct {
	Name string
	// Password is the Cleartext-Password; it serves PAP, CHAP, MS-CHAPv1
	// and MS-CHAPv2 (with MPPE keys).
	Password string
	// Reject makes every login of the user fail (Auth-Type := Reject).
	Reject bool
	// Check items added to the first line, such as
	// `SMB-Account-CTRL-TEXT := "[UL]"` (a locked account: the mschap module answers
	// MS-CHAPv2 with MS-CHAP-Error E=647).
	Check []string
	// Reply items, written as in the users file: `Filter-Id := "vpn"`,
	// `Framed-IP-Address := 10.8.0.2`, `Reply-Message := "disabled"`.
	Reply []string
}

// Options shape one FreeRADIUS instance. The zero value is usable: one
// user alice/password, secret "testing123", Message-Authenticator required.
type Options struct {
	Users []User
	// Secret is the shared secret of client 127.0.0.1; default "testing123".
	Secret string
	// AllowMissingMessageAuthenticator turns off the per-client
	// require_message_authenticator (on by default).
	AllowMissingMessageAuthenticator bool
	// NoAuthDetail leaves out the auth-detail file (every Access-Request
	// written to disk): for benchmarks.
	NoAuthDetail bool
	// Proxy, when set, makes this FreeRADIUS a proxy: every
	// Access-Request is forwarded to the home server Proxy names (the
	// Gatehouse front door under test) and its answer, Access-Challenge
	// included, goes back to the client. Users are then not consulted.
	Proxy *Proxy
	// Authorize is unlang put first in the authorize section (after the
	// auth-detail log), such as a second prompt: `if (&State) { ... }
	// else { update reply { ... } update control {
	// &Response-Packet-Type := Access-Challenge } handled }`. A reply
	// that must pass a client requiring Message-Authenticator sets
	// `&Message-Authenticator := 0x00` in it. Not with Proxy.
	Authorize string
}

// Proxy is the home server of a FreeRADIUS in proxy mode.
type Proxy struct {
	// Addr is the home server's IPv4 address and port, such as
	// 127.0.0.1:1812.
	Addr string
	// Secret is the secret FreeRADIUS shares with it.
	Secret string
}

// Server is a running FreeRADIUS.
type Server struct {
	// AuthAddr and AcctAddr are 127.0.0.1:port.
	AuthAddr, AcctAddr string
	Secret             string
	// SecretFile holds Secret followed by a newline, mode 0644 in a
	// directory every user can enter (plugins run as nobody under root).
	SecretFile string
	// Dir holds raddb/, log/ and run/.
	Dir string
	// DetailFile receives every Accounting-Request (detail format);
	// AuthDetail every Access-Request; Log is radius.log.
	DetailFile, AuthDetail, Log string

	t   testing.TB
	cmd *exec.Cmd
	end chan struct{}
}

// Require skips the test loudly when FreeRADIUS cannot run here and the
// process is not root; as root (CI) a missing binary fails the test.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		skipLoudly(t, "-short: starts FreeRADIUS")
	}
	if _, err := os.Stat(Binary); err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("FreeRADIUS not installed (%v): run test/install-deps (apt-get install freeradius freeradius-utils)", err)
		}
		skipLoudly(t, fmt.Sprintf("%s missing: apt-get install freeradius freeradius-utils (test/install-deps); CI runs it as root", Binary))
	}
}

// RequireTool is Require for a FreeRADIUS client tool (radclient, radtest).
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("%s not installed: run test/install-deps (apt-get install freeradius-utils)", name)
		}
		skipLoudly(t, name+" missing: apt-get install freeradius-utils (test/install-deps); CI runs it as root")
	}
	return p
}

func skipLoudly(t testing.TB, msg string) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

// FreePorts returns n UDP ports on 127.0.0.1 that were free a moment ago.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	var conns []net.PacketConn
	var ports []int
	for range n {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		ports = append(ports, c.LocalAddr().(*net.UDPAddr).Port)
	}
	for _, c := range conns {
		c.Close()
	}
	return ports
}

// Start writes a private configuration and runs FreeRADIUS in the
// foreground (-f) on two free loopback ports until the test ends. It calls
// Require first.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	Require(t)
	if opts.Secret == "" {
		opts.Secret = "testing123"
	}
	if opts.Users == nil {
		opts.Users = []User{{Name: "alice", Password: "password"}}
	}
	dir, err := os.MkdirTemp("", "gatehouse-freeradius-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ports := FreePorts(t, 2)
	s := &Server{
		AuthAddr:   "127.0.0.1:" + strconv.Itoa(ports[0]),
		AcctAddr:   "127.0.0.1:" + strconv.Itoa(ports[1]),
		Secret:     opts.Secret,
		SecretFile: filepath.Join(dir, "secret"),
		Dir:        dir,
		DetailFile: filepath.Join(dir, "log", "radacct", "detail"),
		AuthDetail: filepath.Join(dir, "log", "auth-detail"),
		Log:        filepath.Join(dir, "log", "radius.log"),
		t:          t,
	}
	if err := s.write(opts, ports); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(Binary, "-C", "-l", "stdout", "-d", filepath.Join(dir, "raddb")).CombinedOutput(); err != nil {
		t.Fatalf("freeradius -C: %v\n%s", err, out)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start (re)starts a stopped server on the same ports.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	if err := os.WriteFile(s.Log, nil, 0o600); err != nil {
		s.t.Fatal(err)
	}
	out, err := os.OpenFile(filepath.Join(s.Dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(Binary, "-f", "-d", filepath.Join(s.Dir, "raddb"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start freeradius: %v", err)
	}
	s.cmd, s.end = cmd, make(chan struct{})
	go func(c *exec.Cmd, end chan struct{}) { _ = c.Wait(); close(end) }(cmd, s.end)
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(s.Log)
		if bytes.Contains(b, []byte("Ready to process requests")) {
			return
		}
		select {
		case <-s.end:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "log", "stdout.log"))
			s.cmd = nil
			s.t.Fatalf("freeradius exited at start:\n%s\n%s", b, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("freeradius not ready after 20 s:\n%s", b)
		}
	}
}

// Stop stops the server (it can be started again with Start).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.end:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.end
	}
	s.cmd = nil
}

// Detail returns the accounting detail file's contents ("" before the
// first Accounting-Request).
func (s *Server) Detail() string {
	b, _ := os.ReadFile(s.DetailFile)
	return string(b)
}

// Records splits the detail file into records, one per Accounting-Request,
// each a map of attribute name to its values as FreeRADIUS prints them
// (strings keep their quotes off).
func (s *Server) Records() []map[string][]string {
	return ParseDetail(s.Detail())
}

// ParseDetail parses FreeRADIUS detail-file text.
func ParseDetail(text string) []map[string][]string {
	var out []map[string][]string
	var cur map[string][]string
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			cur = nil
			continue
		}
		if line[0] != '\t' && line[0] != ' ' {
			cur = map[string][]string{}
			out = append(out, cur)
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), " = ")
		if !ok {
			continue
		}
		cur[k] = append(cur[k], strings.Trim(v, `"`))
	}
	return out
}

func (s *Server) write(opts Options, ports []int) error {
	d := s.Dir
	for _, sub := range []string{"raddb/mods-config/files", "raddb/mods-config/attr_filter", "run", "log/radacct"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(s.SecretFile, []byte(opts.Secret+"\n"), 0o644); err != nil {
		return err
	}
	var users strings.Builder
	for _, u := range opts.Users {
		switch {
		case u.Reject:
			fmt.Fprintf(&users, "%s Auth-Type := Reject", u.Name)
		default:
			fmt.Fprintf(&users, "%s Cleartext-Password := %q", u.Name, u.Password)
		}
		for _, c := range u.Check {
			fmt.Fprintf(&users, ", %s", c)
		}
		users.WriteString("\n")
		for i, r := range u.Reply {
			sep := ","
			if i == len(u.Reply)-1 {
				sep = ""
			}
			fmt.Fprintf(&users, "\t%s%s\n", r, sep)
		}
		users.WriteString("\n")
	}
	ma := "yes"
	if opts.AllowMissingMessageAuthenticator {
		ma = "no"
	}
	site := fmt.Sprintf(siteConf, ports[0], ports[1])
	if opts.NoAuthDetail {
		site = strings.Replace(site, "\t\tauth_log\n", "", 1)
	}
	if opts.Authorize != "" {
		site = strings.Replace(site, "\t\tchap\n\t\tmschap\n", opts.Authorize+"\n\t\tchap\n\t\tmschap\n", 1)
	}
	proxy, radiusd := "", radiusdConf
	if p := opts.Proxy; p != nil {
		host, port, err := net.SplitHostPort(p.Addr)
		if err != nil {
			return fmt.Errorf("proxy address: %w", err)
		}
		proxy = fmt.Sprintf(proxyConf, host, port, p.Secret)
		radiusd = strings.Replace(radiusd, "proxy_requests = no\n", "proxy_requests = yes\n$INCLUDE proxy.conf\n", 1)
		site = strings.Replace(site, "\t\tchap\n\t\tmschap\n\t\tfiles\n\t\tpap\n", proxyAuthorize, 1)
	}
	files := map[string]string{
		"raddb/proxy.conf":                            proxy,
		"raddb/mods-config/files/authorize":           users.String(),
		"raddb/mods-config/files/accounting":          "",
		"raddb/mods-config/attr_filter/access_reject": rejectFilter,
		"raddb/radiusd.conf":                          strings.ReplaceAll(radiusd, "@STATE@", d),
		"raddb/clients.conf":                          fmt.Sprintf(clientsConf, opts.Secret, ma),
		"raddb/mods-enabled.conf":                     modulesConf,
		"raddb/site.conf":                             site,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// RequireToolNamed is RequireTool for a tool from another package (pkg is
// the Debian package to install).
func RequireToolNamed(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Geteuid() == 0 {
			t.Fatalf("%s not installed: run test/install-deps (apt-get install %s)", name, pkg)
		}
		skipLoudly(t, name+" missing: apt-get install "+pkg+" (test/install-deps); CI runs it as root")
	}
	return p
}
