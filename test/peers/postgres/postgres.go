// Package postgres runs a throw-away PostgreSQL server (Debian's
// postgresql 15) for tests: initdb and pg_ctl in a temporary directory,
// as the unprivileged postgres account, listening on a free port of
// 127.0.0.1 and on a Unix socket in that directory, with TLS from a test
// CA (test/peers/testca) so that clients can use sslmode=verify-full. It
// is the project's own, written for its tests; nothing of the package's
// system service is used or started.
//
//	srv := postgres.Start(t, postgres.Options{})
//	dsn := srv.CreateDatabase(t) // a fresh database owned by the app role
//	srv.Kill()                   // immediate shutdown, as a crash
//	srv.Restart(t)               // the same data directory and port again
//
// The app role ([Role]) logs in with a password (scram-sha-256) over TCP
// and TLS only; the superuser only over the Unix socket (peer trust), for
// the harness itself.
//
// Tests that need PostgreSQL call [Require] (Start does): without the
// binaries it skips loudly when not root and fails as root, because CI
// runs as root after test/install-deps installed them.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/gatehouse-vpn/gatehouse/test/peers/testca"
)

// BinDir is where Debian puts PostgreSQL 15's programs.
var BinDir = "/usr/lib/postgresql/15/bin"

// Account is the operating-system account the server runs as: the
// postgres package creates it, and PostgreSQL refuses to run as root.
const Account = "postgres"

// Role and RolePassword are the application's database role.
const (
	Role         = "gatehouse"
	RolePassword = "gatehouse-test-password"
)

// Options tune Start.
type Options struct {
	// Fsync off trades durability for speed; default on, so that a
	// benchmark measures what an operator gets.
	NoFsync bool
	// MaxConnections is the server's max_connections (default 200).
	MaxConnections int
}

// Server is a running PostgreSQL.
type Server struct {
	Dir    string // data directory is Dir/data; socket and log in Dir
	Port   int
	CAFile string // the CA that signed the server's certificate
	// UntrustedCAFile signed nothing: verify-full with it must fail.
	UntrustedCAFile string

	uid, gid uint32
	dbs      atomic.Int64
}

// Require skips (not root) or fails (root) the test when PostgreSQL's
// programs or its account are missing.
func Require(t testing.TB) {
	t.Helper()
	var missing []string
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if _, err := os.Stat(filepath.Join(BinDir, b)); err != nil {
			missing = append(missing, filepath.Join(BinDir, b))
		}
	}
	if _, err := user.Lookup(Account); err != nil {
		missing = append(missing, "the "+Account+" account")
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (to run the server as the "+Account+" account)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "PostgreSQL tests need " + strings.Join(missing, ", ") + " (apt-get install postgresql-15)"
	if os.Geteuid() == 0 {
		t.Fatalf("%s; as root (CI) test/install-deps should have installed them", msg)
	}
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

// Start initialises a cluster in a temporary directory, starts it and
// stops it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	Require(t)
	s, err := New(t.TempDir(), o)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// New is Start for callers without a testing.TB (a TestMain): it
// initialises and starts a cluster under parent, which must exist. The
// caller stops it with Stop.
func New(parent string, o Options) (*Server, error) {
	u, err := user.Lookup(Account)
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	s := &Server{Dir: filepath.Join(parent, "pg"), uid: uint32(uid), gid: uint32(gid)}
	if err := os.Mkdir(s.Dir, 0o700); err != nil {
		return nil, err
	}
	// The account must reach the directory: parent directories made by
	// t.TempDir are 0700 root.
	for d := parent; d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o001); err != nil {
				return nil, err
			}
		}
		if d == os.TempDir() {
			break
		}
	}
	tls := filepath.Join(s.Dir, "tls")
	if err := os.Mkdir(tls, 0o700); err != nil {
		return nil, err
	}
	if s.CAFile, err = testca.WriteServer(tls, net.IPv4(127, 0, 0, 1)); err != nil {
		return nil, err
	}
	if s.UntrustedCAFile, err = testca.WriteUntrustedCA(tls); err != nil {
		return nil, err
	}
	if err := filepath.Walk(s.Dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	}); err != nil {
		return nil, err
	}
	pw := filepath.Join(s.Dir, "pwfile")
	if err := s.writeFile(pw, RolePassword+"\n"); err != nil {
		return nil, err
	}
	if out, err := s.run(filepath.Join(BinDir, "initdb"), "-D", s.data(), "-U", Account,
		"--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	maxConns := o.MaxConnections
	if maxConns == 0 {
		maxConns = 200
	}
	conf := fmt.Sprintf(`listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = '%s'
max_connections = %d
shared_buffers = 32MB
fsync = %s
ssl = on
ssl_cert_file = '%s'
ssl_key_file = '%s'
log_min_messages = warning
`, s.Port, s.Dir, maxConns, onOff(!o.NoFsync), filepath.Join(tls, "server.crt"), filepath.Join(tls, "server.key"))
	f, err := os.OpenFile(filepath.Join(s.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		return nil, err
	}
	// TCP only with TLS and a password; the socket for the harness.
	hba := "local all " + Account + " peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
	if err := s.writeFile(filepath.Join(s.data(), "pg_hba.conf"), hba); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	if err := s.exec(fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, Role, RolePassword)); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func (s *Server) data() string    { return filepath.Join(s.Dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.Dir, "server.log") }

func (s *Server) writeFile(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Chown(path, int(s.uid), int(s.gid))
}

// run runs a PostgreSQL program as the postgres account.
func (s *Server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: s.uid, Gid: s.gid}}
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	return cmd.CombinedOutput()
}

func (s *Server) start() error {
	out, err := s.run(filepath.Join(BinDir, "pg_ctl"), "start", "-w", "-t", "60", "-D", s.data(), "-l", s.logFile())
	if err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, s.Log())
	}
	return nil
}

// Log returns the server's log so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logFile())
	return string(b)
}

// Stop shuts the server down (fast mode: sessions are ended, data kept).
// It may be called more than once.
func (s *Server) Stop() {
	s.run(filepath.Join(BinDir, "pg_ctl"), "stop", "-w", "-m", "fast", "-D", s.data())
}

// Kill stops the server in immediate mode: every process exits at once,
// without a checkpoint, as after a crash; the next start recovers from
// the write-ahead log.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if out, err := s.run(filepath.Join(BinDir, "pg_ctl"), "stop", "-w", "-m", "immediate", "-D", s.data()); err != nil {
		t.Fatalf("pg_ctl stop -m immediate: %v\n%s", err, out)
	}
}

// Restart starts a stopped or killed server again on the same port.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// exec runs one statement as the superuser through psql over the socket.
func (s *Server) exec(stmt string) error {
	out, err := s.run("/usr/bin/psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", s.Dir, "-p", strconv.Itoa(s.Port),
		"-U", Account, "-d", "postgres", "-c", stmt)
	if err != nil {
		return fmt.Errorf("psql %q: %v\n%s", stmt, err, out)
	}
	return nil
}

// Exec runs one statement as the superuser, failing the test on error.
func (s *Server) Exec(t testing.TB, stmt string) {
	t.Helper()
	if err := s.exec(stmt); err != nil {
		t.Fatal(err)
	}
}

// DSN returns the connection string of database db for the app role over
// TCP with sslmode=verify-full against CAFile.
func (s *Server) DSN(db string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(Role, RolePassword),
		Host:   net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		Path:   "/" + db,
	}
	q := url.Values{}
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", s.CAFile)
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	return u.String()
}

// NewDatabase creates an empty database owned by the app role and
// returns its name.
func (s *Server) NewDatabase() (string, error) {
	name := fmt.Sprintf("gh_%d_%d", os.Getpid(), s.dbs.Add(1))
	if err := s.exec(fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, name, Role)); err != nil {
		return "", err
	}
	return name, nil
}

// CreateDatabase creates an empty database owned by the app role and
// returns its DSN (see DSN). It is dropped when the test ends.
func (s *Server) CreateDatabase(t testing.TB) string {
	t.Helper()
	name, err := s.NewDatabase()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)) })
	return s.DSN(name)
}

// WriteDSNFile writes dsn to a 0600 file in dir, as an operator's
// store.dsn_file, and returns its path.
func WriteDSNFile(t testing.TB, dir, dsn string) string {
	t.Helper()
	p := filepath.Join(dir, "postgres.dsn")
	if err := os.WriteFile(p, []byte(dsn+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ping connects with dsn and runs SELECT 1.
func Ping(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return db.PingContext(ctx)
}
