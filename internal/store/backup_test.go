package store

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// A store on disk the way the CLI keeps it: a database and a key file.
type diskStore struct {
	db, key string
}

func newDiskStore(t *testing.T, dir string) diskStore {
	t.Helper()
	ds := diskStore{db: filepath.Join(dir, "gatehouse.db"), key: filepath.Join(dir, "secret.key")}
	key, err := newKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNewFile(ds.key, key); err != nil {
		t.Fatal(err)
	}
	return ds
}

// open opens the store as the CLI does: recover an interrupted key
// change, load the key file, open.
func (ds diskStore) open(t *testing.T) *Store {
	t.Helper()
	st, err := ds.tryOpen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func (ds diskStore) tryOpen() (*Store, error) {
	ctx := context.Background()
	if _, err := RecoverKey(ctx, ds.db, ds.key, KeyOptions{}); err != nil {
		return nil, err
	}
	key, err := loadKeyFile(ds.key)
	if err != nil {
		return nil, err
	}
	s, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	return Open(ctx, ds.db, s)
}

func (ds diskStore) keyBytes(t *testing.T) []byte {
	t.Helper()
	key, err := loadKeyFile(ds.key)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

const (
	alicePassword = "alice's password"
	carolPassword = "carol: ünïcode"
)

// fill gives the store what a backup, a restore or a rekey must carry:
// passwords, a user without one, a TOTP and an HOTP token.
func fill(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol"} {
		must(t, st.AddUser(ctx, u))
	}
	must(t, st.SetPassword(ctx, "alice", alicePassword))
	must(t, st.SetPassword(ctx, "carol", carolPassword))
	tok := totpToken("T1")
	tok.User = "alice"
	must(t, st.AddToken(ctx, tok))
	must(t, st.AddToken(ctx, hotpToken("H1")))
}

// fillClosed fills the store at ds and closes it.
func fillClosed(t *testing.T, ds diskStore) {
	t.Helper()
	st := ds.open(t)
	fill(t, st)
	must(t, st.Close())
}

// hotpCode is RFC 4226's HOTP with SHA-1 (TOTP is HOTP of the time step).
func hotpCode(secret []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, secret)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	code := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, code%mod)
}

// checkSecrets proves the store's secrets open: the passwords check and
// unseal (Password needs the sealed copy; CheckPassword alone would fall
// back on the hash), and the tokens' secrets give the RFC test codes.
func checkSecrets(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	if ok, err := st.CheckPassword(ctx, "alice", alicePassword); err != nil || !ok {
		t.Errorf("alice's password does not check: %v, %v", ok, err)
	}
	if ok, err := st.CheckPassword(ctx, "alice", "wrong"); err != nil || ok {
		t.Errorf("a wrong password checks: %v, %v", ok, err)
	}
	for user, want := range map[string]string{"alice": alicePassword, "carol": carolPassword} {
		if got, err := st.Password(ctx, user); err != nil || got != want {
			t.Errorf("Password(%s) = %q, %v", user, got, err)
		}
	}
	if _, err := st.Password(ctx, "bob"); !errors.Is(err, ErrNoPassword) {
		t.Errorf("bob: %v, want ErrNoPassword", err)
	}
	totp, err := st.Token(ctx, "T1")
	if err != nil {
		t.Fatalf("token T1: %v", err)
	}
	// RFC 6238 appendix B: SHA-1, T = 59 s (step 1), 8 digits.
	if got := hotpCode(totp.Secret, 59/30, 8); got != "94287082" {
		t.Errorf("T1 gives %s at T=59, want 94287082", got)
	}
	if totp.User != "alice" {
		t.Errorf("T1 assigned to %q", totp.User)
	}
	hotp, err := st.Token(ctx, "H1")
	if err != nil {
		t.Fatalf("token H1: %v", err)
	}
	// RFC 4226 appendix D: counter 0.
	if got := hotpCode(hotp.Secret, hotp.Counter, 6); hotp.Counter == 0 && got != "755224" {
		t.Errorf("H1 gives %s at counter 0, want 755224", got)
	}
}

func integrityOK(t *testing.T, st *Store) {
	t.Helper()
	var res string
	if err := st.db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q, %v", res, err)
	}
}

// A backup taken while two connections (two processes, as far as SQLite
// is concerned) write without pause is consistent: each write
// transaction of the first adds user w<i> and sets token W's last step to
// i, so every consistent state has as many w users as last step + 1. The
// restored copy passes SQLite's integrity check and its secrets open.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t)
	fill(t, st)
	w := totpToken("W")
	w.Serial = "W"
	must(t, st.AddToken(ctx, w))
	w.Serial = "W2"
	must(t, st.AddToken(ctx, w))
	other := ds.open(t)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var txs, commits atomic.Int64
	var writeErr atomic.Value
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			err := st.write(ctx, func(tx *txn) error {
				ts := unixNano(now())
				if _, err := tx.Exec(`INSERT INTO users (name, created_at, updated_at) VALUES (?, ?, ?)`, fmt.Sprintf("w%d", i), ts, ts); err != nil {
					return err
				}
				_, err := tx.Exec(`UPDATE tokens SET last_step = ? WHERE serial = 'W'`, i)
				return err
			})
			if err != nil {
				writeErr.Store(err)
				return
			}
			txs.Add(1)
			// A pause, as between logins: without it this writer keeps the
			// lock and SQLite's backing-off busy handler starves the other.
			time.Sleep(100 * time.Microsecond)
		}
	})
	wg.Go(func() {
		for step := int64(0); ; step++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := other.CommitTOTP(ctx, "W2", step, 0); err != nil {
				writeErr.Store(err)
				return
			}
			commits.Add(1)
			time.Sleep(100 * time.Microsecond)
		}
	})

	out := t.TempDir()
	var backups []string
	for i := range 4 {
		for start := txs.Load(); txs.Load() < start+20; {
			time.Sleep(time.Millisecond)
			if err := writeErr.Load(); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(out, fmt.Sprintf("backup-%d.tar", i))
		if _, err := st.BackupToFile(ctx, path, ds.key, false); err != nil {
			t.Fatal(err)
		}
		backups = append(backups, path)
	}
	close(stop)
	wg.Wait()
	if err := writeErr.Load(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d transactions and %d TOTP commits during %d backups", txs.Load(), commits.Load(), len(backups))

	prevUsers := -1
	for _, path := range backups {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		to := diskStore{db: filepath.Join(t.TempDir(), "state", "gatehouse.db"), key: filepath.Join(t.TempDir(), "secret.key")}
		m, err := Restore(ctx, f, to.db, to.key, RestoreOptions{})
		f.Close()
		if err != nil {
			t.Fatalf("restore %s: %v", path, err)
		}
		r := to.open(t)
		integrityOK(t, r)
		var users, lastStep int
		if err := r.db.QueryRow(`SELECT COUNT(*) FROM users WHERE name GLOB 'w[0-9]*'`).Scan(&users); err != nil {
			t.Fatal(err)
		}
		if err := r.db.QueryRow(`SELECT last_step FROM tokens WHERE serial = 'W'`).Scan(&lastStep); err != nil {
			t.Fatal(err)
		}
		if users != lastStep+1 {
			t.Errorf("%s: %d w users but last step %d: not a consistent snapshot", path, users, lastStep)
		}
		if users <= prevUsers {
			t.Errorf("%s: %d w users, the backup before had %d", path, users, prevUsers)
		}
		prevUsers = users
		if m.Users != users+3 || m.Passwords != 2 || m.Tokens != 4 || m.SchemaVersion != SchemaVersion() {
			t.Errorf("manifest %+v, want %d users, 2 passwords, 4 tokens", m, users+3)
		}
		checkSecrets(t, r)
		// The restored store works: a code is consumed once.
		must(t, r.CommitTOTP(ctx, "T1", 1, 0))
		if err := r.CommitTOTP(ctx, "T1", 1, 0); !errors.Is(err, ErrReplayed) {
			t.Errorf("replay after restore: %v", err)
		}
	}
}

func TestBackupFile(t *testing.T) {
	ctx := context.Background()
	dbDir := t.TempDir()
	ds := newDiskStore(t, dbDir)
	st := ds.open(t)
	fill(t, st)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "b.tar")
	if _, err := st.BackupToFile(ctx, out, ds.key, false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup has mode %04o, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(out)
	if _, err := st.BackupToFile(ctx, out, ds.key, false); !errors.Is(err, ErrExists) {
		t.Errorf("second backup to the same file: %v, want ErrExists", err)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Error("a refused backup changed the file")
	}
	must(t, os.Chmod(out, 0o644))
	if _, err := st.BackupToFile(ctx, out, ds.key, true); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Errorf("overwritten backup has mode %04o, want 0600", fi.Mode().Perm())
	}
	// No temporary files left behind, next to the output or the database.
	for dir, want := range map[string]int{outDir: 1, dbDir: 4} { // db, -wal, -shm, key
		entries, _ := os.ReadDir(dir)
		if len(entries) != want {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("%s holds %v", dir, names)
		}
	}
	// The container is a plain tar with the documented members.
	f, _ := os.Open(out)
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Mode != 0o600 {
			t.Errorf("%s has mode %o", hdr.Name, hdr.Mode)
		}
		names = append(names, hdr.Name)
		if hdr.Name == backupManifestName {
			var m map[string]any
			if err := json.NewDecoder(tr).Decode(&m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"format", "version", "created", "schema_version", "members"} {
				if _, ok := m[k]; !ok {
					t.Errorf("manifest lacks %q", k)
				}
			}
		}
	}
	if got := strings.Join(names, " "); got != "MANIFEST.json gatehouse.db secret.key SHA256SUMS" {
		t.Errorf("members: %s", got)
	}
}

// backupBytes returns a backup of a filled store, and the store.
func backupBytes(t *testing.T) ([]byte, diskStore) {
	t.Helper()
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t)
	fill(t, st)
	var buf bytes.Buffer
	if _, err := st.Backup(context.Background(), &buf, ds.key); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ds
}

// rebuild reads a backup, lets edit change its database copy, manifest
// or key, and writes a container again with checksums that match.
func rebuild(t *testing.T, data []byte, edit func(db *sql.DB, m *BackupManifest, key *[]byte)) []byte {
	t.Helper()
	b, err := readBackup(bytes.NewReader(data), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.remove()
	db, err := sql.Open("sqlite", b.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Clone(b.key)
	edit(db, &b.manifest, &key)
	db.Close()
	var buf bytes.Buffer
	if _, err := writeContainer(&buf, b.manifest, b.dbPath, key); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// memberRegions returns where each member's header and data are in a
// container: [start, end) offsets.
func memberRegions(t *testing.T, data []byte) map[string][2][2]int {
	t.Helper()
	regions := map[string][2][2]int{}
	off := 0
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		size := int(hdr.Size)
		regions[hdr.Name] = [2][2]int{{off, off + 512}, {off + 512, off + 512 + size}}
		off += 512 + (size+511)/512*512
	}
	regions["end"] = [2][2]int{{off, len(data)}, {len(data), len(data)}}
	return regions
}

func noStoreAt(t *testing.T, ds diskStore) {
	t.Helper()
	for _, p := range []string{ds.db, ds.key, ds.key + NewKeySuffix} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists after a refused restore", p)
		}
	}
}

func freshTarget(t *testing.T) diskStore {
	dir := t.TempDir()
	return diskStore{db: filepath.Join(dir, "gatehouse.db"), key: filepath.Join(dir, "secret.key")}
}

func TestRestoreRefusesCorrupt(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	regions := memberRegions(t, data)
	flip := func(pos int) []byte {
		b := bytes.Clone(data)
		b[pos] ^= 0x20
		return b
	}
	mid := func(r [2]int) int { return (r[0] + r[1]) / 2 }
	cases := map[string][]byte{
		"manifest":           flip(mid(regions[backupManifestName][1])),
		"database":           flip(mid(regions[backupDBName][1])),
		"database, page 1":   flip(regions[backupDBName][1][0] + 100),
		"key":                flip(mid(regions[backupKeyName][1])),
		"SHA256SUMS":         flip(mid(regions[backupSumsName][1])),
		"database header":    flip(regions[backupDBName][0][0] + 2),
		"database size":      flip(regions[backupDBName][0][0] + 124 + 5),
		"end of archive":     flip(regions["end"][0][0] + 7),
		"truncated":          data[:mid(regions[backupDBName][1])],
		"truncated at a key": data[:regions[backupKeyName][1][0]+10],
		"empty":              nil,
		"not a tar":          []byte("SQLite format 3\x00 and then some, but not a tar file at all; " + strings.Repeat("x", 2000)),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			to := freshTarget(t)
			_, err := Restore(ctx, bytes.NewReader(b), to.db, to.key, RestoreOptions{})
			if !errors.Is(err, ErrBadBackup) {
				t.Fatalf("err = %v, want ErrBadBackup", err)
			}
			t.Log(err)
			noStoreAt(t, to)
			entries, _ := os.ReadDir(filepath.Dir(to.db))
			if len(entries) != 0 {
				t.Errorf("a refused restore left %d files", len(entries))
			}
		})
	}
	to := freshTarget(t)
	if _, err := Restore(ctx, bytes.NewReader(cases["database"]), to.db, to.key, RestoreOptions{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("a changed database byte: %v, want a checksum error", err)
	}
}

// A changed byte anywhere in a header or a member is refused; only the
// padding after a member's data (which nothing reads) may change freely.
func TestBackupEveryByteCovered(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	regions := memberRegions(t, data)
	covered := func(pos int) bool {
		for _, r := range regions {
			for _, span := range r {
				if pos >= span[0] && pos < span[1] {
					return true
				}
			}
		}
		return false
	}
	tmp := t.TempDir()
	step := 127
	if testing.Short() {
		step = 1021
	}
	tested := 0
	for pos := 0; pos < len(data); pos += step {
		b := bytes.Clone(data)
		b[pos] ^= 0x01
		_, err := VerifyBackup(ctx, bytes.NewReader(b), tmp)
		if covered(pos) && err == nil {
			t.Errorf("byte %d changed, and the backup still verifies", pos)
		}
		if err != nil && !errors.Is(err, ErrBadBackup) {
			t.Errorf("byte %d changed: %v, want ErrBadBackup", pos, err)
		}
		tested++
	}
	t.Logf("%d positions of %d bytes", tested, len(data))
}

func TestRestoreRefusesWrongKey(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	otherKey := bytes.Repeat([]byte{0x42}, seal.KeySize)
	wrong := rebuild(t, data, func(_ *sql.DB, _ *BackupManifest, key *[]byte) { *key = otherKey })
	to := freshTarget(t)
	_, err := Restore(ctx, bytes.NewReader(wrong), to.db, to.key, RestoreOptions{})
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "the key in the backup does not open its database") {
		t.Fatalf("err = %v, want ErrWrongKey", err)
	}
	noStoreAt(t, to)
	if _, err := VerifyBackup(ctx, bytes.NewReader(wrong), ""); !errors.Is(err, ErrWrongKey) {
		t.Errorf("VerifyBackup: %v, want ErrWrongKey", err)
	}

	// The key check opens, but one token was sealed under another key.
	oneRow := rebuild(t, data, func(db *sql.DB, _ *BackupManifest, _ *[]byte) {
		s := testSealer(t, otherKey)
		if _, err := db.Exec(`UPDATE tokens SET secret = ? WHERE serial = 'H1'`, s.Seal(secretSHA1, tokenAAD("H1"))); err != nil {
			t.Fatal(err)
		}
	})
	_, err = Restore(ctx, bytes.NewReader(oneRow), to.db, to.key, RestoreOptions{})
	if err == nil || !strings.Contains(err.Error(), `secret of token "H1"`) {
		t.Fatalf("err = %v, want the token named", err)
	}
	noStoreAt(t, to)
}

func TestRestoreRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	newer := SchemaVersion() + 1
	for name, editManifest := range map[string]bool{"manifest and database": true, "database only": false} {
		t.Run(name, func(t *testing.T) {
			b := rebuild(t, data, func(db *sql.DB, m *BackupManifest, _ *[]byte) {
				if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, newer); err != nil {
					t.Fatal(err)
				}
				if editManifest {
					m.SchemaVersion = newer
				}
			})
			to := freshTarget(t)
			_, err := Restore(ctx, bytes.NewReader(b), to.db, to.key, RestoreOptions{})
			if !errors.Is(err, ErrSchemaTooNew) {
				t.Fatalf("err = %v, want ErrSchemaTooNew", err)
			}
			for _, want := range []string{fmt.Sprintf("schema version %d", newer), fmt.Sprintf("up to %d", SchemaVersion())} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
			noStoreAt(t, to)
		})
	}
	// A newer container format is refused by version, too.
	b := rebuild(t, data, func(_ *sql.DB, m *BackupManifest, _ *[]byte) { m.Version = BackupFormatVersion + 1 })
	to := freshTarget(t)
	if _, err := Restore(ctx, bytes.NewReader(b), to.db, to.key, RestoreOptions{}); !errors.Is(err, ErrBadBackup) ||
		!strings.Contains(err.Error(), fmt.Sprintf("format version %d", BackupFormatVersion+1)) {
		t.Errorf("newer format: %v", err)
	}
}

// A backup of an older schema restores, and the next open migrates it.
func TestRestoreOlderSchema(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	old := rebuild(t, data, func(db *sql.DB, m *BackupManifest, _ *[]byte) {
		for _, q := range []string{
			`DROP TABLE lockouts`, `DROP TABLE revisions`, `DROP TRIGGER users_access_changed`, `DROP TRIGGER users_deleted`,
			`DROP TRIGGER group_members_added`, `DROP TRIGGER group_members_removed`, `DELETE FROM schema_migrations WHERE version >= 2`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		m.SchemaVersion = 1
	})
	to := freshTarget(t)
	m, err := Restore(ctx, bytes.NewReader(old), to.db, to.key, RestoreOptions{})
	if err != nil || m.SchemaVersion != 1 {
		t.Fatalf("Restore = %+v, %v", m, err)
	}
	st := to.open(t)
	if got := migrationRows(t, st); len(got) != SchemaVersion() {
		t.Errorf("after open: schema_migrations %v", got)
	}
	checkSecrets(t, st)
}

func TestRestoreRefusesExisting(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)

	target := newDiskStore(t, t.TempDir())
	st := target.open(t)
	must(t, st.AddUser(ctx, "zed"))
	st.Close()
	keyBefore := target.keyBytes(t)

	_, err := Restore(ctx, bytes.NewReader(data), target.db, target.key, RestoreOptions{})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("err = %v, want ErrExists", err)
	}
	// A key file alone is a store too.
	keyOnly := newDiskStore(t, t.TempDir())
	if _, err := Restore(ctx, bytes.NewReader(data), keyOnly.db, keyOnly.key, RestoreOptions{}); !errors.Is(err, ErrExists) {
		t.Errorf("over a key file: %v, want ErrExists", err)
	}
	if !bytes.Equal(target.keyBytes(t), keyBefore) {
		t.Fatal("a refused restore changed the key")
	}
	if _, err := target.open(t).User(ctx, "zed"); err != nil {
		t.Fatalf("a refused restore changed the store: %v", err)
	}
}

func TestRestoreRefusesInUse(t *testing.T) {
	ctx := context.Background()
	data, _ := backupBytes(t)
	target := newDiskStore(t, t.TempDir())
	st := target.open(t) // the running gateway
	must(t, st.AddUser(ctx, "zed"))
	keyBefore := target.keyBytes(t)

	_, err := Restore(ctx, bytes.NewReader(data), target.db, target.key,
		RestoreOptions{Force: true, KeyOptions: KeyOptions{LockWait: 50 * time.Millisecond}})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "stop the gateway") {
		t.Fatalf("err = %v, want ErrInUse saying to stop the gateway", err)
	}
	if !bytes.Equal(target.keyBytes(t), keyBefore) {
		t.Error("the key changed")
	}
	if _, err := os.Lstat(target.key + NewKeySuffix); err == nil {
		t.Error("a new key file was left")
	}
	if _, err := st.User(ctx, "zed"); err != nil {
		t.Errorf("the running store lost data: %v", err)
	}
}

// crashImage copies a store's files while it is open, with its commits
// still in the WAL: what a gateway killed at that moment leaves.
func crashImage(t *testing.T, st *Store, key string) diskStore {
	t.Helper()
	dir := t.TempDir()
	var wal int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(st.Path() + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if suffix == "-wal" {
			wal = int64(len(b))
		}
		must(t, os.WriteFile(filepath.Join(dir, "gatehouse.db"+suffix), b, 0o600))
	}
	if wal == 0 {
		t.Fatal("the WAL is empty: not a crash image")
	}
	k, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "secret.key"), k, 0o600))
	return diskStore{db: filepath.Join(dir, "gatehouse.db"), key: filepath.Join(dir, "secret.key")}
}

// --force over a store with another key and other data, whose last
// commits are still in its WAL (a gateway was killed), gives exactly the
// backup: the old WAL does not come back.
func TestRestoreOverExisting(t *testing.T) {
	ctx := context.Background()
	data, src := backupBytes(t)
	old := newDiskStore(t, t.TempDir())
	st := old.open(t)
	must(t, st.AddUser(ctx, "zed"))
	must(t, st.SetPassword(ctx, "zed", "zed's password"))
	target := crashImage(t, st, old.key)
	st.Close()

	m, err := Restore(ctx, bytes.NewReader(data), target.db, target.key, RestoreOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Users != 3 || m.Passwords != 2 || m.Tokens != 2 {
		t.Errorf("manifest %+v", m)
	}
	if !bytes.Equal(target.keyBytes(t), src.keyBytes(t)) {
		t.Error("the key file is not the backup's")
	}
	if fi, err := os.Stat(target.key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}
	st = target.open(t)
	integrityOK(t, st)
	if _, err := st.User(ctx, "zed"); !errors.Is(err, ErrNotFound) {
		t.Errorf("zed survived the restore: %v", err)
	}
	checkSecrets(t, st)
	users, err := st.Users(ctx)
	if err != nil || len(users) != 3 {
		t.Errorf("users = %v, %v", users, err)
	}
}

// emptyDB tells a database without tables (what a crashed restore into an
// empty place leaves) from a store, also one whose tables are only in its
// WAL.
func TestEmptyDB(t *testing.T) {
	dir := t.TempDir()
	zero := filepath.Join(dir, "zero.db")
	must(t, os.WriteFile(zero, nil, 0o600))
	onePage := filepath.Join(dir, "one.db")
	must(t, os.WriteFile(onePage, nil, 0o600))
	ex, err := lockExclusive(context.Background(), onePage, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ex.close()
	if fi, _ := os.Stat(onePage); fi.Size() == 0 {
		t.Fatal("the locked file stayed empty; the test means a file with page 1 only")
	}
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t)
	fill(t, st)
	inWAL := crashImage(t, st, ds.key)
	st.Close()
	for path, want := range map[string]bool{zero: true, onePage: true, ds.db: false, inWAL.db: false, ds.key: false} {
		if got := emptyDB(path); got != want {
			t.Errorf("emptyDB(%s) = %v, want %v", filepath.Base(path), got, want)
		}
	}
}
