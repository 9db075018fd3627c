package slapd

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/test/peers/testca"
)

// Where Debian puts things.
var (
	Binary       = "/usr/sbin/slapd"
	SchemaDir    = "/etc/ldap/schema"
	ModuleDir    = "/usr/lib/ldap"
	SambaSchemas = []string{
		"/usr/share/doc/samba/examples/LDAP/samba.schema",
		"/usr/share/doc/samba/examples/LDAP/samba.schema.gz",
	}
)

// The fixed names of the test directory.
const (
	BaseDN        = "dc=example,dc=test"
	AdminDN       = "cn=admin," + BaseDN
	AdminPassword = "adminpass"
	ServiceDN     = "cn=gateway,ou=services," + BaseDN
	// ServicePassword is the service account's password, also written to
	// Server.BindPasswordFile.
	ServicePassword = "gatewaypass"
	PeopleDN        = "ou=people," + BaseDN
	GroupsDN        = "ou=groups," + BaseDN
)

// Options tune Start.
type Options struct {
	// LogLevel is slapd's -d level written to Server.Log ("stats" logs
	// every operation); default "0", quiet.
	LogLevel string
	// Host is the IPv4 address slapd listens on (and its certificate
	// names, besides localhost); default 127.0.0.1. A test whose gateway
	// runs in another network namespace gives an address it can reach.
	Host string
}

// Server is a running slapd.
type Server struct {
	// URL is ldap://HOST:PORT (plain, StartTLS available).
	URL string
	// LDAPSURL is ldaps://HOST:PORT.
	LDAPSURL string
	// BaseDN, BindDN and BindPassword: the directory and its service
	// account; BindPasswordFile holds the password (mode 0600).
	BaseDN, BindDN, BindPassword, BindPasswordFile string
	// CAFile verifies the server's certificate (HOST, 127.0.0.1 and
	// localhost);
	// UntrustedCAFile is another CA, which does not.
	CAFile, UntrustedCAFile string
	// Dir holds everything; Log is slapd's output.
	Dir, Log string

	opts Options
	conf string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Require skips (not root) or fails (root) the test when slapd or the
// Samba schema is missing, and returns the schema's path.
func Require(t testing.TB) string {
	t.Helper()
	var missing []string
	if _, err := os.Stat(Binary); err != nil {
		missing = append(missing, Binary+" (apt-get install slapd)")
	}
	schema := ""
	for _, s := range SambaSchemas {
		if _, err := os.Stat(s); err == nil {
			schema = s
			break
		}
	}
	if schema == "" {
		missing = append(missing, SambaSchemas[0]+" (apt-get install samba)")
	}
	if len(missing) == 0 {
		return schema
	}
	msg := "OpenLDAP tests need " + strings.Join(missing, ", ")
	if os.Geteuid() == 0 {
		t.Fatalf("%s; as root (CI) test/install-deps should have installed them", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
	return ""
}

// Start runs slapd on two free ports of Options.Host (loopback by default), seeds the base entries
// and the service account, and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	schema := Require(t)
	if opts.LogLevel == "" {
		opts.LogLevel = "0"
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	ip := net.ParseIP(opts.Host)
	if ip == nil || ip.To4() == nil {
		t.Fatalf("slapd: Host %q is not an IPv4 address", opts.Host)
	}
	dir, err := os.MkdirTemp("", "gatehouse-slapd-")
	if err != nil {
		t.Fatal(err)
	}
	// World-readable so plugins running as nobody can read the CA.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &Server{
		BaseDN: BaseDN, BindDN: ServiceDN, BindPassword: ServicePassword,
		BindPasswordFile: filepath.Join(dir, "bind.pw"),
		Dir:              dir, Log: filepath.Join(dir, "slapd.log"), opts: opts,
	}
	for _, d := range []string{"data", "tls"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.BindPasswordFile, []byte(ServicePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.CAFile, err = testca.WriteServer(filepath.Join(dir, "tls"), ip); err != nil {
		t.Fatal(err)
	}
	if s.UntrustedCAFile, err = testca.WriteUntrustedCA(filepath.Join(dir, "tls")); err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(schema, ".gz") {
		if schema, err = gunzip(schema, filepath.Join(dir, "samba.schema")); err != nil {
			t.Fatal(err)
		}
	}
	ports, err := freePorts(opts.Host, 2)
	if err != nil {
		t.Fatal(err)
	}
	s.URL = fmt.Sprintf("ldap://%s:%d", opts.Host, ports[0])
	s.LDAPSURL = fmt.Sprintf("ldaps://%s:%d", opts.Host, ports[1])
	s.conf = filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(s.conf, []byte(s.slapdConf(schema)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(Binary, "-T", "test", "-u", "-f", s.conf).CombinedOutput(); err != nil {
		t.Fatalf("slapd -T test: %v\n%s", err, out)
	}
	t.Cleanup(s.Stop)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.seed(); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return s
}

func (s *Server) slapdConf(sambaSchema string) string {
	var b strings.Builder
	for _, sc := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", SchemaDir, sc)
	}
	fmt.Fprintf(&b, `include %s
pidfile %[2]s/slapd.pid
argsfile %[2]s/slapd.args
modulepath %[3]s
moduleload back_mdb
moduleload memberof
moduleload ppolicy
sizelimit 500

TLSCACertificateFile %[2]s/tls/ca.crt
TLSCertificateFile %[2]s/tls/server.crt
TLSCertificateKeyFile %[2]s/tls/server.key

database mdb
maxsize 104857600
suffix "%[4]s"
rootdn "%[5]s"
rootpw %[6]s
directory %[2]s/data
index objectClass,uid,mail,member,memberOf eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

overlay ppolicy
ppolicy_default "cn=default,ou=policies,%[4]s"
ppolicy_use_lockout

access to attrs=userPassword
  by self =wx
  by anonymous auth
  by * none
access to attrs=sambaNTPassword,sambaLMPassword
  by dn.exact="%[7]s" read
  by * none
access to *
  by * read
`, sambaSchema, s.Dir, ModuleDir, BaseDN, AdminDN, SSHA(AdminPassword), ServiceDN)
	return b.String()
}

// Restart starts slapd again after Stop, on the same ports and with the
// same data; Start calls it the first time.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("slapd is running")
	}
	logf, err := os.OpenFile(s.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(Binary, "-d", s.opts.LogLevel, "-h", s.URL+"/ "+s.LDAPSURL+"/", "-f", s.conf)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start slapd: %w", err)
	}
	logf.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := s.adminConn()
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("slapd exited: %s", s.tail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd did not answer within 15 s: %v; %s", err, s.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops slapd (SIGTERM, SIGKILL after 10 s); Restart starts it again.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func (s *Server) tail() string {
	b, _ := os.ReadFile(s.Log)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return "log: " + string(b)
}

// adminConn is a connection bound as the rootdn.
func (s *Server) adminConn() (*ldap.Conn, error) {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(5 * time.Second)
	if err := c.Bind(AdminDN, AdminPassword); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Admin runs fn with a connection bound as the rootdn (cn=admin).
func (s *Server) Admin(t testing.TB, fn func(*ldap.Conn) error) {
	t.Helper()
	c, err := s.adminConn()
	if err != nil {
		t.Fatalf("slapd admin bind: %v", err)
	}
	defer c.Close()
	if err := fn(c); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) seed() error {
	c, err := s.adminConn()
	if err != nil {
		return err
	}
	defer c.Close()
	entries := []struct {
		dn    string
		attrs map[string][]string
	}{
		{BaseDN, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example Test Directory"}}},
		{PeopleDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{GroupsDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		{"ou=services," + BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"services"}}},
		{"ou=policies," + BaseDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"policies"}}},
		{"cn=default,ou=policies," + BaseDN, map[string][]string{"objectClass": {"device", "pwdPolicy"}, "cn": {"default"},
			"pwdAttribute": {"userPassword"}, "pwdLockout": {"TRUE"}, "pwdMaxFailure": {"0"}}},
		{ServiceDN, map[string][]string{"objectClass": {"applicationProcess", "simpleSecurityObject"}, "cn": {"gateway"},
			"userPassword": {SSHA(ServicePassword)}}},
	}
	for _, e := range entries {
		req := ldap.NewAddRequest(e.dn, nil)
		for k, v := range e.attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			return fmt.Errorf("add %s: %w", e.dn, err)
		}
	}
	return nil
}

// User is a test account under ou=people.
type User struct {
	// Name is the uid; Mail defaults to NAME@example.test (the UPN-style
	// login name).
	Name, Password, Mail string
	// Groups are created under ou=groups as needed.
	Groups []string
	// Disabled sets sambaAcctFlags [DU]; Locked sets the ppolicy
	// pwdAccountLockedTime (slapd then refuses the user's binds).
	Disabled, Locked bool
	// NoNTHash leaves sambaNTPassword out.
	NoNTHash bool
}

// UserDN is the DN of uid=name.
func UserDN(name string) string { return "uid=" + ldap.EscapeDN(name) + "," + PeopleDN }

// GroupDN is the DN of cn=name.
func GroupDN(name string) string { return "cn=" + ldap.EscapeDN(name) + "," + GroupsDN }

var sid struct {
	sync.Mutex
	n int
}

// AddUser adds u (userPassword {SSHA}, sambaNTPassword = NT hash of the
// password) and adds it to its groups, and returns its DN.
func (s *Server) AddUser(t testing.TB, u User) string {
	t.Helper()
	if u.Mail == "" {
		u.Mail = u.Name + "@example.test"
	}
	sid.Lock()
	sid.n++
	rid := 1000 + sid.n
	sid.Unlock()
	dn := UserDN(u.Name)
	flags := "[U          ]"
	if u.Disabled {
		flags = "[DU         ]"
	}
	req := ldap.NewAddRequest(dn, nil)
	req.Attribute("objectClass", []string{"inetOrgPerson", "sambaSamAccount"})
	req.Attribute("uid", []string{u.Name})
	req.Attribute("cn", []string{u.Name})
	req.Attribute("sn", []string{u.Name})
	req.Attribute("mail", []string{u.Mail})
	req.Attribute("userPassword", []string{SSHA(u.Password)})
	req.Attribute("sambaSID", []string{fmt.Sprintf("S-1-5-21-1111111111-2222222222-3333333333-%d", rid)})
	req.Attribute("sambaAcctFlags", []string{flags})
	if !u.NoNTHash {
		req.Attribute("sambaNTPassword", []string{NTPassword(u.Password)})
	}
	s.Admin(t, func(c *ldap.Conn) error {
		if err := c.Add(req); err != nil {
			return fmt.Errorf("add %s: %w", dn, err)
		}
		if u.Locked {
			m := ldap.NewModifyRequest(dn, nil)
			m.Replace("pwdAccountLockedTime", []string{"000001010000Z"})
			if err := c.Modify(m); err != nil {
				return fmt.Errorf("lock %s: %w", dn, err)
			}
		}
		for _, g := range u.Groups {
			if err := addMember(c, g, dn); err != nil {
				return err
			}
		}
		return nil
	})
	return dn
}

// AddGroup creates group name (if needed) with the given member DNs,
// which may be other groups.
func (s *Server) AddGroup(t testing.TB, name string, memberDNs ...string) string {
	t.Helper()
	s.Admin(t, func(c *ldap.Conn) error {
		for _, m := range memberDNs {
			if err := addMember(c, name, m); err != nil {
				return err
			}
		}
		return nil
	})
	return GroupDN(name)
}

func addMember(c *ldap.Conn, group, member string) error {
	dn := GroupDN(group)
	m := ldap.NewModifyRequest(dn, nil)
	m.Add("member", []string{member})
	err := c.Modify(m)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{group})
		req.Attribute("member", []string{member})
		err = c.Add(req)
	}
	if err != nil {
		return fmt.Errorf("add %s to group %s: %w", member, group, err)
	}
	return nil
}

// BackendOptions are the options of a gateway back-end of type ldap for
// this server: plain ldap:// with StartTLS verified by CAFile, the
// service account's password from BindPasswordFile, and MS-CHAPv2 through
// sambaNTPassword.
func (s *Server) BackendOptions() map[string]string {
	return map[string]string{
		"url":                s.URL,
		"start_tls":          "true",
		"ca_file":            s.CAFile,
		"base_dn":            s.BaseDN,
		"directory":          "openldap",
		"bind_dn":            s.BindDN,
		"bind_password_file": s.BindPasswordFile,
		"nt_hash_attribute":  "sambaNTPassword",
		"attributes":         "mail",
	}
}

// BackendYAML is a back-end called name of type ldap for this server, as
// it goes under backends: of a gateway configuration (indented by two
// spaces), with BackendOptions and the extra options (an empty value
// removes one).
func (s *Server) BackendYAML(name string, extra map[string]string) string {
	opts := s.BackendOptions()
	for k, v := range extra {
		if v == "" {
			delete(opts, k)
		} else {
			opts[k] = v
		}
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "  %s:\n    type: ldap\n    options:\n", name)
	for _, k := range keys {
		fmt.Fprintf(&b, "      %s: %q\n", k, opts[k])
	}
	return b.String()
}

// SSHA is the {SSHA} userPassword value of pw.
func SSHA(pw string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// NTPassword is the sambaNTPassword value of pw: MD4(UTF-16LE(pw)) in
// upper-case hex.
func NTPassword(pw string) string {
	h := mschapv2.NTHash(pw)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}

func freePorts(host string, n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func gunzip(src, dst string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(dst, out, 0o644)
}
