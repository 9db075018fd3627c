// Package sambaad runs a throwaway Samba Active Directory domain
// controller (Debian's samba) on 127.0.0.1 for tests: LDAP only (Start),
// or with the services a domain member needs (StartDomain).
//
// Provisioning a domain takes a minute or so on a busy machine, so the
// provisioned and seeded domain is kept as a template under
// $XDG_CACHE_HOME/gatehouse-samba/VERSION (default ~/.cache), keyed by
// the Samba version, and copied into a temporary directory for each
// Start. Samba's LDAP ports cannot be configured: the DC binds
// 127.0.0.1:389 and 636, so Start holds a lock file for as long as the DC
// runs and only one runs on the machine at a time.
//
// The domain is EXAMPLE.TEST (base DC=example,DC=test), seeded with:
//
//	sAMAccountName  password        groups
//	gateway         Gateway-Pass1   (service account that searches)
//	alice           Alice-Pass1     vpn-users, admins; through vpn-users
//	                                also staff and, through staff, everyone
//	bob             Bob-Pass1       vpn-users (so staff, everyone)
//	carol           Carol-Pass1     vpn-users; disabled (userAccountControl 514)
//	dave            Dave-Pass1      (none); for lockout tests
//
// The domain locks an account after 3 wrong passwords, for 30 minutes.
//
// Each user's userPrincipalName is NAME@example.test.
//
// # StartDomain: a DC for domain members
//
// StartDomain runs the DC with the services a member joins and
// authenticates through: LDAP and CLDAP (DC discovery), the KDC (port 88,
// kpasswd 464), DCE/RPC (endpoint mapper 135, netlogon) and SMB (smbd,
// 445 and 139; netlogon and lsarpc named pipes). smbd maps the SIDs of a
// session to Unix ids through the DC's own winbindd, so that runs too.
// "ntlm auth = mschapv2-and-ntlmv2-only" lets the DC accept MS-CHAPv2
// responses that a member forwards with the MSV1_0_ALLOW_MSVCHAPV2 flag
// (ntlm_auth --allow-mschapv2), the way FreeRADIUS does, while plain
// NTLMv1 stays refused; Samba's default (ntlmv2-only) refuses both.
//
// Samba's client library finds winbindd through a socket directory that
// is compiled in (/run/samba/winbindd on Debian), not configurable in
// smb.conf. So the DC runs in a mount namespace of its own in which a
// directory of the test is bind-mounted over /run/samba: its smbd finds
// its own winbindd, and neither touches the host's /run/samba. The member
// of test/peers/winbind does the same with its own directory.
package sambaad

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Binaries and the fixed names of the test domain.
var (
	Samba     = "/usr/sbin/samba"
	SambaTool = "/usr/bin/samba-tool"
)

const (
	Realm           = "EXAMPLE.TEST"
	Domain          = "EXAMPLE"
	BaseDN          = "DC=example,DC=test"
	URL             = "ldap://127.0.0.1:389"
	AdminPassword   = "Adm1n-Pass!"
	ServiceUPN      = "gateway@example.test"
	ServicePassword = "Gateway-Pass1"
)

// Users are the seeded accounts and their passwords.
var Users = map[string]string{"alice": "Alice-Pass1", "bob": "Bob-Pass1", "carol": "Carol-Pass1", "dave": "Dave-Pass1"}

// templateVersion changes whenever provision seeds something else, so a
// cached template of an older seed is not used.
const templateVersion = "t2"

// Server is a running DC.
type Server struct {
	URL, BaseDN          string
	BindDN, BindPassword string
	Dir                  string
	cmd                  *exec.Cmd
	done                 chan struct{}
}

// Require skips loudly under -short and when not root (the DC runs as
// root and binds port 389), and fails as root when Samba is missing (CI
// runs as root after test/install-deps).
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		skipLoudly(t, "-short: provisions and runs a Samba AD domain controller")
	}
	if os.Geteuid() != 0 {
		skipLoudly(t, "needs root: the Samba AD DC runs as root and binds 127.0.0.1:389; CI runs it as root")
	}
	for _, b := range []string{Samba, SambaTool} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("Samba AD tests need %s (apt-get install samba-ad-dc samba-ad-provision python3-samba); test/install-deps installs it", b)
		}
	}
}

func skipLoudly(t testing.TB, msg string) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

// Start copies the provisioned domain (provisioning it into the cache the
// first time) and runs the DC, LDAP only, until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartDomain is Start with the services a domain member needs (see the
// package documentation), in a mount namespace of its own.
func StartDomain(t testing.TB) *Server {
	t.Helper()
	return start(t, true)
}

// domainPorts are the TCP ports StartDomain waits for besides LDAP:
// Kerberos, the RPC endpoint mapper and SMB.
var domainPorts = []string{"127.0.0.1:88", "127.0.0.1:135", "127.0.0.1:445"}

func start(t testing.TB, domain bool) *Server {
	t.Helper()
	Require(t)
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "gatehouse-samba-ad.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	tmpl, err := template()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", tmpl+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy the domain template: %v\n%s", err, out)
	}
	if err := writeConf(dir, domain); err != nil {
		t.Fatal(err)
	}
	ports := []string{"127.0.0.1:389"}
	if domain {
		ports = append(ports, domainPorts...)
	}
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", p, time.Second); err == nil {
			c.Close()
			t.Fatalf("%s is already in use: stop the other server (a peers/samba-ad start?)", p)
		}
	}
	s := &Server{URL: URL, BaseDN: BaseDN, BindDN: ServiceUPN, BindPassword: ServicePassword, Dir: dir}
	logf, err := os.Create(filepath.Join(dir, "log", "stdout.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd = exec.Command(Samba, "-F", "--no-process-group", "-s", filepath.Join(dir, "etc", "smb.conf"))
	if domain {
		run := filepath.Join(dir, "run")
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(SambaRunDir, 0o755); err != nil {
			t.Fatal(err)
		}
		s.cmd = PrivateMounts(map[string]string{SambaRunDir: run}, s.cmd.Args...)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := s.ping()
		for _, p := range ports[1:] {
			if err != nil {
				break
			}
			var c net.Conn
			if c, err = net.DialTimeout("tcp", p, time.Second); err == nil {
				c.Close()
			}
		}
		if err == nil {
			return s
		} else if time.Now().After(deadline) {
			t.Fatalf("samba did not answer LDAP within 90 s: %v; logs in %s", err, dir)
		}
		select {
		case <-s.done:
			b, _ := os.ReadFile(filepath.Join(dir, "log", "stdout.log"))
			t.Fatalf("samba exited: %s", b)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (s *Server) ping() error {
	c, err := ldap.DialURL(s.URL, ldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetTimeout(5 * time.Second)
	return c.Bind(s.BindDN, s.BindPassword)
}

// stop ends samba and every process it started (its process group), so
// that none still writes in the test's directory when it is removed.
func (s *Server) stop() {
	pgid := s.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-s.done
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BackendOptions are the options of a gateway back-end of type ldap for
// this DC.
func (s *Server) BackendOptions() map[string]string {
	return map[string]string{
		"url": s.URL, "base_dn": s.BaseDN, "directory": "ad",
		"bind_dn": s.BindDN, "bind_password": s.BindPassword,
	}
}

// template returns the cached provisioned domain, making it first if
// needed.
func template() (string, error) {
	out, err := exec.Command(Samba, "-V").Output()
	if err != nil {
		return "", fmt.Errorf("samba -V: %w", err)
	}
	version := strings.ReplaceAll(strings.TrimSpace(strings.TrimPrefix(string(out), "Version ")), "/", "_")
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "gatehouse-samba", version+"-"+templateVersion)
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), "provision-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	if err := provision(work); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(work, "ready"), nil, 0o600); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(work, dir); err != nil {
		return "", err
	}
	return dir, nil
}

func provision(dir string) error {
	for _, d := range []string{"etc", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return err
		}
	}
	base := filepath.Join(dir, "etc", "provision-base.conf")
	if err := os.WriteFile(base, nil, 0o600); err != nil {
		return err
	}
	if out, err := exec.Command(SambaTool, "domain", "provision", "-s", base,
		"--targetdir="+dir, "--realm="+Realm, "--domain="+Domain,
		"--server-role=dc", "--dns-backend=NONE", "--use-rfc2307", "--host-name=dc1", "--host-ip=127.0.0.1",
		"--adminpass="+AdminPassword).CombinedOutput(); err != nil {
		return fmt.Errorf("samba-tool domain provision: %v\n%s", err, out)
	}
	if err := writeConf(dir, false); err != nil {
		return err
	}
	conf := filepath.Join(dir, "etc", "smb.conf")
	for _, args := range [][]string{
		{"user", "add", "gateway", ServicePassword, "--description=gateway service account"},
		{"user", "add", "alice", Users["alice"], "--given-name=Alice", "--surname=Example"},
		{"user", "add", "bob", Users["bob"], "--given-name=Bob", "--surname=Example"},
		{"user", "add", "carol", Users["carol"], "--given-name=Carol", "--surname=Example"},
		{"user", "disable", "carol"},
		{"user", "add", "dave", Users["dave"]},
		{"domain", "passwordsettings", "set", "--account-lockout-threshold=3",
			"--account-lockout-duration=30", "--reset-account-lockout-after=30"},
		{"group", "add", "vpn-users"},
		{"group", "add", "admins"},
		{"group", "add", "staff"},
		{"group", "add", "everyone"},
		{"group", "addmembers", "vpn-users", "alice,bob,carol"},
		{"group", "addmembers", "admins", "alice"},
		{"group", "addmembers", "staff", "vpn-users"},
		{"group", "addmembers", "everyone", "staff"},
	} {
		if out, err := exec.Command(SambaTool, append(args, "-s", conf)...).CombinedOutput(); err != nil {
			return fmt.Errorf("samba-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// writeConf writes an smb.conf for the domain in dir: LDAP only, or with
// domain the services a member needs; on loopback, simple binds allowed
// over plain LDAP (tests only).
func writeConf(dir string, domain bool) error {
	services, extra := "ldap", ""
	if domain {
		services = "ldap, cldap, kdc, rpc, s3fs, winbindd"
		extra = fmt.Sprintf("\tntlm auth = mschapv2-and-ntlmv2-only\n\tncalrpc dir = %s/ncalrpc\n", dir)
	}
	conf := fmt.Sprintf(`[global]
	netbios name = DC1
	realm = %[1]s
	workgroup = %[2]s
	server role = active directory domain controller
	server services = %[4]s
	interfaces = 127.0.0.1
	bind interfaces only = yes
	ldap server require strong auth = no
	tls enabled = no
	private dir = %[3]s/private
	state directory = %[3]s/state
	cache directory = %[3]s/cache
	lock directory = %[3]s
	binddns dir = %[3]s/bind-dns
	log file = %[3]s/log/samba.log
	idmap_ldb:use rfc2307 = yes
%[5]s`, Realm, Domain, dir, services, extra)
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "etc", "smb.conf"), []byte(conf), 0o600)
}

// SambaRunDir is where Samba's client library looks for winbindd's socket
// (directory winbindd inside it): compiled in, the same on every Debian.
const SambaRunDir = "/run/samba"

// PrivateMounts returns a command that runs args (a program and its
// arguments) in a new mount namespace in which each source directory or
// file of binds is bind-mounted over its target (map target -> source).
// The mounts are private: the host's view of target does not change.
// The command starts in a process group of its own and is killed when
// the test process dies. Needs root.
func PrivateMounts(binds map[string]string, args ...string) *exec.Cmd {
	// sh -c 'mount --bind "$1" "$2" && ... && shift N && exec "$@"'
	script, list := "", []string{}
	targets := make([]string, 0, len(binds))
	for target := range binds {
		targets = append(targets, target)
	}
	slices.Sort(targets)
	for i, target := range targets {
		script += fmt.Sprintf(`mount --bind "$%d" "$%d" && `, 2*i+1, 2*i+2)
		list = append(list, binds[target], target)
	}
	script += fmt.Sprintf(`shift %d && exec "$@"`, len(list))
	full := append([]string{"--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh"}, list...)
	cmd := exec.Command("unshare", append(full, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}
