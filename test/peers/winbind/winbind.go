// Package winbind joins a throwaway Samba domain member, with winbindd
// running, to the test domain controller of package sambaad, for tests of
// what goes through winbind: ntlm_auth --request-nt-key, which hands an
// MS-CHAPv2 challenge and response to the DC and gets back the NT
// session key (the user session key, MD4 of the NT hash).
//
// # Layout
//
// The member is the gateway's side of a domain: winbindd only, no smbd
// and no nmbd (disable netbios), so it listens on no port and shares the
// host's network namespace and loopback with the DC (sambaad.StartDomain,
// 127.0.0.1). What cannot be shared is the file system: Samba's client
// library (ntlm_auth, wbinfo, and the DC's own smbd) finds winbindd's
// socket in a directory compiled in, /run/samba/winbindd, and the DC's
// name (dc1.example.test) must resolve on the member. So the member lives
// in a mount namespace of its own, held by a sleeping process, in which
//
//	/run/samba  is DIR/run  (the member's winbindd socket)
//	/etc/hosts  is DIR/etc/hosts  (dc1.example.test is 127.0.0.1)
//
// and net ads join, winbindd and every ntlm_auth run there (nsenter). The
// DC has its own mount namespace with its own /run/samba. The host's
// /etc/samba, /etc/hosts and /run/samba are never written.
//
// Every path of the member is under the test's temporary directory:
// DIR/etc/smb.conf (security = ads, private, state, cache and lock
// directories of its own), DIR/log. winbindd's privileged pipe (in
// DIR/state/winbindd_privileged) belongs to group winbindd_priv, as the
// Debian package sets it up, so a process of that group that is not root
// can use ntlm_auth.
package winbind

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/test/peers/sambaad"
)

// Binaries the member needs.
var (
	Winbindd = "/usr/sbin/winbindd"
	Net      = "/usr/bin/net"
	NTLMAuth = "/usr/bin/ntlm_auth"
	Wbinfo   = "/usr/bin/wbinfo"
	Nsenter  = "/usr/bin/nsenter"
)

// The member's NetBIOS name, and the group of winbindd's privileged pipe.
const (
	NetBIOSName     = "GATEHOUSE"
	PrivilegedGroup = "winbindd_priv"
)

// Member is a domain member with winbindd running.
type Member struct {
	// Dir holds the member's configuration, state and logs.
	Dir string
	// SMBConf is the member's smb.conf (ntlm_auth --configfile).
	SMBConf string
	// Domain and Realm are the joined domain's NetBIOS and DNS names.
	Domain, Realm string
	// NTLMAuth is an executable that runs ntlm_auth inside the member's
	// mount namespace, with the arguments it is given. Only root can run
	// it (nsenter); for a process that is not root, start it inside the
	// namespace with Command.
	NTLMAuth string
	// WBInfo is the same for wbinfo.
	WBInfo string

	holder   *exec.Cmd
	holdDone chan struct{}
	winbindd *exec.Cmd
	wbDone   chan struct{}
}

// Require skips or fails like sambaad.Require, and also when winbind's
// programs are missing (as root, CI: fail).
func Require(t testing.TB) {
	t.Helper()
	sambaad.Require(t)
	for _, b := range []string{Winbindd, Net, NTLMAuth, Wbinfo, Nsenter, "/usr/bin/unshare"} {
		if _, err := os.Stat(b); err != nil {
			t.Fatalf("winbind tests need %s (apt-get install winbind samba-common-bin util-linux); test/install-deps installs it", b)
		}
	}
}

// Join makes a member of dc's domain (dc must run with
// sambaad.StartDomain): writes its smb.conf, joins it with net ads join
// as Administrator, starts winbindd and waits until it answers and the
// trust with the DC works. Everything stops when the test ends.
func Join(t testing.TB, dc *sambaad.Server) *Member {
	t.Helper()
	m := prepare(t)
	if out, err := m.Command(Net, "ads", "join", "--no-dns-updates", "-s", m.SMBConf,
		"-U", "Administrator%"+sambaad.AdminPassword, "-S", "127.0.0.1").CombinedOutput(); err != nil {
		t.Fatalf("net ads join: %v\n%s", err, out)
	}
	m.StartWinbindd(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, err := m.Command(Wbinfo, "-t").CombinedOutput()
		if err == nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("wbinfo -t: the trust with the DC does not work after 60 s: %v\n%s\nlogs in %s", err, out, m.Dir)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// DeleteMachineAccount deletes the member's computer account on the DC
// (as Administrator, over LDAP) and restarts winbindd: the machine still
// believes it is joined, the domain no longer knows it, the way a member
// ends up whose account an administrator removed or reset.
func (m *Member) DeleteMachineAccount(t testing.TB, dc *sambaad.Server) {
	t.Helper()
	c, err := ldap.DialURL(dc.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind("Administrator@"+strings.ToLower(sambaad.Realm), sambaad.AdminPassword); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ldap.NewDelRequest("CN="+NetBIOSName+",CN=Computers,"+dc.BaseDN, nil)); err != nil {
		t.Fatalf("delete the machine account: %v", err)
	}
	m.StopWinbindd()
	m.StartWinbindd(t)
}

func prepare(t testing.TB) *Member {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	// A gateway's plugin (not root) reads the smb.conf and reaches the
	// privileged pipe through the test's directory.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	m := &Member{Dir: dir, SMBConf: filepath.Join(dir, "etc", "smb.conf"), Domain: sambaad.Domain, Realm: sambaad.Realm}
	for _, d := range []string{"etc", "log", "private", "state", "cache", "lock", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// winbindd insists on 0750 and root as the owner; the group is the
	// one a gateway's plugin joins to use ntlm_auth.
	priv := filepath.Join(dir, "state", "winbindd_privileged")
	if err := os.Mkdir(priv, 0o750); err != nil {
		t.Fatal(err)
	}
	if g, err := user.LookupGroup(PrivilegedGroup); err == nil {
		gid, _ := strconv.Atoi(g.Gid)
		if err := os.Chown(priv, 0, gid); err != nil {
			t.Fatal(err)
		}
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.0.1\tdc1.%s dc1\n", strings.ToLower(sambaad.Realm))
	if err := os.WriteFile(filepath.Join(dir, "etc", "hosts"), []byte(hosts), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.SMBConf, []byte(memberConf(dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The holder keeps the mount namespace for as long as the test runs,
	// whether winbindd runs or not.
	if err := os.MkdirAll(sambaad.SambaRunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	m.holder = sambaad.PrivateMounts(map[string]string{
		sambaad.SambaRunDir: filepath.Join(dir, "run"),
		"/etc/hosts":        filepath.Join(dir, "etc", "hosts"),
	}, "/bin/sh", "-c", "echo ready && exec sleep 1000000")
	out, err := m.holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	m.holder.Stderr = &stderr
	if err := m.holder.Start(); err != nil {
		t.Fatal(err)
	}
	m.holdDone = make(chan struct{})
	go func() { m.holder.Wait(); close(m.holdDone) }()
	t.Cleanup(m.stop)
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		<-m.holdDone
		t.Fatalf("the member's mount namespace: %q %s", line, stderr.String())
	}
	m.NTLMAuth, m.WBInfo = filepath.Join(dir, "ntlm_auth"), filepath.Join(dir, "wbinfo")
	for wrapper, prog := range map[string]string{m.NTLMAuth: NTLMAuth, m.WBInfo: Wbinfo} {
		script := fmt.Sprintf("#!/bin/sh\nexec %s --mount=/proc/%d/ns/mnt -- %s \"$@\"\n", Nsenter, m.holder.Process.Pid, prog)
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// memberConf is the member's smb.conf: an ADS member of the test domain
// whose DC is at 127.0.0.1, winbindd only, everything under dir.
func memberConf(dir string) string {
	return fmt.Sprintf(`[global]
	netbios name = %[1]s
	realm = %[2]s
	workgroup = %[3]s
	security = ads
	password server = 127.0.0.1
	disable netbios = yes
	interfaces = 127.0.0.1
	bind interfaces only = yes
	private dir = %[4]s/private
	state directory = %[4]s/state
	cache directory = %[4]s/cache
	lock directory = %[4]s/lock
	ncalrpc dir = %[4]s/lock/ncalrpc
	log file = %[4]s/log/%%m.log
	log level = 1
	idmap config * : backend = tdb
	idmap config * : range = 100000-199999
	rpc start on demand helpers = no
`, NetBIOSName, sambaad.Realm, sambaad.Domain, dir)
}

// Command returns a command that runs name with args inside the member's
// mount namespace, as root: start a gateway or a plugin this way for it
// to reach the member's winbindd as /run/samba/winbindd; it may drop its
// privileges afterwards and stays in the namespace.
func (m *Member) Command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(Nsenter, append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", m.holder.Process.Pid), "--", name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// StartWinbindd starts winbindd in the member's namespace (again, after
// StopWinbindd) and waits until it answers wbinfo -p.
func (m *Member) StartWinbindd(t testing.TB) {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(m.Dir, "log", "winbindd.stdout"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := m.Command(Winbindd, "-F", "--no-process-group", "-s", m.SMBConf)
	cmd.SysProcAttr.Setpgid = true
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	m.winbindd, m.wbDone = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m.Command(Wbinfo, "-p").Run() == nil {
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(filepath.Join(m.Dir, "log", "winbindd.stdout"))
			l, _ := os.ReadFile(filepath.Join(m.Dir, "log", "winbindd.log"))
			if len(l) > 2000 {
				l = l[len(l)-2000:]
			}
			t.Fatalf("winbindd exited: %s\n%s", b, l)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("winbindd does not answer wbinfo -p after 30 s; logs in %s", m.Dir)
		}
	}
}

// StopWinbindd stops winbindd and its children (its process group) and
// waits until they are gone.
func (m *Member) StopWinbindd() {
	if m.winbindd == nil {
		return
	}
	killGroup(m.winbindd.Process.Pid, m.wbDone)
	m.winbindd = nil
}

func (m *Member) stop() {
	m.StopWinbindd()
	if m.holder != nil {
		killGroup(m.holder.Process.Pid, m.holdDone)
	}
}

// killGroup ends process group pgid (TERM, then KILL after 10 s), waits
// for its leader (done) and for the rest of the group.
func killGroup(pgid int, done chan struct{}) {
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-done
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if err := syscall.Kill(-pgid, 0); err == syscall.ESRCH {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BackendYAML is the configuration of a DirectoryService back-end that
// checks MS-CHAPv2 through this member's winbind against dc: the lines
// under backends:, indented by two spaces.
func (m *Member) BackendYAML(dc *sambaad.Server) string {
	return fmt.Sprintf(`  DirectoryService:
    type: ldap
    options:
      url: %q
      base_dn: %q
      directory: ad
      bind_dn: %q
      bind_password: %q
      mschapv2: winbind
      winbind_domain: %s
      smb_conf: %q
`, dc.URL, dc.BaseDN, dc.BindDN, dc.BindPassword, m.Domain, m.SMBConf)
}
