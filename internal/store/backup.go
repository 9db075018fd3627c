package store

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// The backup container, format version 1: a POSIX (ustar) tar file with
// exactly these members, in this order, each a regular file of mode 0600:
//
//	MANIFEST.json  the BackupManifest, JSON
//	gatehouse.db   the database: a VACUUM INTO copy (rollback journal mode)
//	secret.key     the 32-byte sealing key
//	SHA256SUMS     "hex  name" lines, as sha256sum writes them, for the
//	               three members above
//
// The manifest also gives the size and SHA-256 of gatehouse.db and
// secret.key. Reading checks every one of these, so a changed byte in any
// member, or in a tar header (tar checksums its headers), is refused.
// Nothing is compressed or encrypted: pipe the output through gpg or age
// to store it encrypted.
const (
	BackupFormat        = "gatehouse-store-backup"
	BackupFormatVersion = 1

	backupManifestName = "MANIFEST.json"
	backupDBName       = "gatehouse.db"
	backupKeyName      = "secret.key"
	backupSumsName     = "SHA256SUMS"

	maxManifestSize = 64 << 10
	maxSumsSize     = 4 << 10
)

// ErrBadBackup: the file is not a backup this program can read, or it was
// altered or damaged (a checksum does not match); the message says which.
var ErrBadBackup = errors.New("not a valid gatehouse store backup")

// BackupManifest describes a backup.
type BackupManifest struct {
	Format        string         `json:"format"`  // BackupFormat
	Version       int            `json:"version"` // BackupFormatVersion
	Created       time.Time      `json:"created"`
	SchemaVersion int            `json:"schema_version"` // of the database copy
	Users         int            `json:"users"`
	Passwords     int            `json:"passwords"` // sealed passwords
	Tokens        int            `json:"tokens"`
	Members       []BackupMember `json:"members"` // gatehouse.db, secret.key
}

// BackupMember is the size and SHA-256 (hex) of a member of the container.
type BackupMember struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Backup writes a backup of the store to w: a transactionally consistent
// copy of the database, taken online (other connections and processes go
// on reading and writing), and the key file at keyFile, in the container
// described above. It checks, before writing anything, that the key opens
// every sealed value of the copy, so a backup that restore would refuse is
// refused here.
//
// The copy is made with VACUUM INTO, which reads the whole database in
// one read transaction: it sees every transaction committed before it
// started and none after. It is written to a temporary file in the
// database's directory, removed afterwards.
//
// The output holds the key and so every secret: keep it as secret as the
// key file.
func (st *Store) Backup(ctx context.Context, w io.Writer, keyFile string) (BackupManifest, error) {
	key, err := loadKeyFile(keyFile)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	defer clear(key)
	s, err := seal.New(key)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(st.path), ".gatehouse-backup-")
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	copyPath := filepath.Join(tmp, backupDBName)
	if err := createPrivate(copyPath); err != nil { // VACUUM INTO accepts an empty file
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := st.db.ExecContext(ctx, `VACUUM INTO ?`, copyPath); err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: copy the database: %w", err)
	}
	info, err := inspectCopy(ctx, copyPath, s)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: the copy of %s: %w", st.path, err)
	}
	m := BackupManifest{
		Format: BackupFormat, Version: BackupFormatVersion, Created: now().UTC().Truncate(time.Second),
		SchemaVersion: info.schema, Users: info.users, Passwords: info.passwords, Tokens: info.tokens,
	}
	m, err = writeContainer(w, m, copyPath, key)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	return m, nil
}

// BackupToFile writes a backup (see [Store.Backup]) to the file at path,
// with mode 0600, atomically: to a temporary file in the same directory,
// synced, then renamed into place, so path is either absent (or its old
// self) or a complete backup. An existing file is an error wrapping
// ErrExists unless overwrite is set.
func (st *Store) BackupToFile(ctx context.Context, path, keyFile string, overwrite bool) (BackupManifest, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return BackupManifest{}, err
	}
	if !overwrite {
		if err := refuseFile(path); err != nil {
			return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
		}
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	bw := bufio.NewWriter(f)
	m, err := st.Backup(ctx, bw, keyFile)
	if err != nil {
		return BackupManifest{}, err
	}
	for _, step := range []func() error{bw.Flush, f.Sync, f.Close} {
		if err := step(); err != nil {
			return BackupManifest{}, fmt.Errorf("store: backup: write %s: %w", tmp, err)
		}
	}
	if err := placeFile(tmp, path, overwrite); err != nil {
		return BackupManifest{}, fmt.Errorf("store: backup: %w", err)
	}
	done = true
	return m, nil
}

// refuseFile is an error wrapping ErrExists if path exists.
func refuseFile(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %w", path, ErrExists)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return nil
}

// placeFile moves the complete file tmp to path (same directory) and makes
// the entry durable. Without overwrite it links, which fails if path
// appeared meanwhile, and removes tmp; where links are not supported it
// checks and renames.
func placeFile(tmp, path string, overwrite bool) error {
	if overwrite {
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	} else {
		err := os.Link(tmp, path)
		switch {
		case errors.Is(err, fs.ErrExist):
			return fmt.Errorf("%s: %w", path, ErrExists)
		case err != nil:
			if err := refuseFile(path); err != nil {
				return err
			}
			if err := os.Rename(tmp, path); err != nil {
				return err
			}
		default:
			os.Remove(tmp)
		}
	}
	syncDir(filepath.Dir(path))
	return nil
}

// copyInfo is what inspectCopy found in a database copy.
type copyInfo struct {
	schema, users, passwords, tokens int
}

// inspectCopy checks a database copy: SQLite's integrity and foreign key
// checks, a schema this program knows, and that s opens every sealed
// value.
func inspectCopy(ctx context.Context, path string, s *seal.Sealer) (copyInfo, error) {
	var info copyInfo
	q := url.Values{}
	q.Set("mode", "ro")
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return info, err
	}
	defer db.Close()
	var problems []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return info, fmt.Errorf("%w: integrity check: %v", ErrBadBackup, err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return info, fmt.Errorf("%w: integrity check: %v", ErrBadBackup, err)
		}
		if p != "ok" && len(problems) < 5 {
			problems = append(problems, p)
		}
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return info, fmt.Errorf("%w: integrity check: %v", ErrBadBackup, err)
	}
	if len(problems) > 0 {
		return info, fmt.Errorf("%w: integrity check: %s", ErrBadBackup, strings.Join(problems, "; "))
	}
	var fk int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&fk); err != nil {
		return info, fmt.Errorf("%w: foreign key check: %v", ErrBadBackup, err)
	}
	if fk > 0 {
		return info, fmt.Errorf("%w: foreign key check: %d rows refer to rows that do not exist", ErrBadBackup, fk)
	}
	if info.schema, err = schemaVersionOf(ctx, db); err != nil {
		return info, err
	}
	if info.schema == 0 {
		return info, fmt.Errorf("%w: the database has no gatehouse schema", ErrBadBackup)
	}
	if info.schema > SchemaVersion() {
		return info, schemaTooNew(info.schema)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&info.users); err != nil {
		return info, err
	}
	if info.passwords, info.tokens, err = checkSealed(ctx, db, s); err != nil {
		return info, err
	}
	return info, nil
}

func schemaTooNew(v int) error {
	return fmt.Errorf("%w: the backup is at schema version %d, this gatehouse knows versions up to %d; "+
		"restore it with the gatehouse that made it, or a newer one", ErrSchemaTooNew, v, SchemaVersion())
}

// writeContainer writes the container of m, the database copy at dbPath
// and key to w, and returns m with its members filled in.
func writeContainer(w io.Writer, m BackupManifest, dbPath string, key []byte) (BackupManifest, error) {
	dbSum, dbSize, err := hashFile(dbPath)
	if err != nil {
		return m, err
	}
	keySum := sha256.Sum256(key)
	m.Members = []BackupMember{
		{Name: backupDBName, Size: dbSize, SHA256: dbSum},
		{Name: backupKeyName, Size: int64(len(key)), SHA256: hex.EncodeToString(keySum[:])},
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	manifest = append(manifest, '\n')
	manifestSum := sha256.Sum256(manifest)
	sums := fmt.Sprintf("%s  %s\n%s  %s\n%s  %s\n",
		hex.EncodeToString(manifestSum[:]), backupManifestName,
		m.Members[0].SHA256, backupDBName,
		m.Members[1].SHA256, backupKeyName)

	db, err := os.Open(dbPath)
	if err != nil {
		return m, err
	}
	defer db.Close()
	tw := tar.NewWriter(w)
	for _, member := range []struct {
		name string
		size int64
		r    io.Reader
	}{
		{backupManifestName, int64(len(manifest)), bytes.NewReader(manifest)},
		{backupDBName, dbSize, db},
		{backupKeyName, int64(len(key)), bytes.NewReader(key)},
		{backupSumsName, int64(len(sums)), strings.NewReader(sums)},
	} {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: member.name, Size: member.size, Mode: 0o600,
			ModTime: m.Created, Format: tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return m, err
		}
		if _, err := io.Copy(tw, member.r); err != nil {
			return m, err
		}
	}
	return m, tw.Close()
}

func hashFile(path string) (sum string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	if size, err = io.Copy(h, f); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// backupFiles is a container read and checked by readBackup: its
// manifest, the database copy in a temporary directory, and the key.
type backupFiles struct {
	manifest BackupManifest
	dir      string
	dbPath   string
	key      []byte
}

func (b *backupFiles) remove() {
	clear(b.key)
	os.RemoveAll(b.dir)
}

func badBackup(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadBackup}, args...)...)
}

// readBackup reads a container from r, checking its layout and every
// checksum, and writes the database copy to a new temporary directory in
// parent. It does not look inside the database; see inspectCopy.
func readBackup(r io.Reader, parent string) (_ *backupFiles, err error) {
	tr := tar.NewReader(r)
	next := func(want string, max int64) (*tar.Header, error) {
		hdr, err := tr.Next()
		switch {
		case err == io.EOF:
			return nil, badBackup("the file ends where %s was expected (truncated?)", want)
		case err != nil:
			return nil, badBackup("reading %s: %v", want, err)
		case hdr.Name != want:
			return nil, badBackup("found %q where %s was expected", hdr.Name, want)
		case hdr.Typeflag != tar.TypeReg:
			return nil, badBackup("%s is not a regular file", want)
		case max >= 0 && hdr.Size > max:
			return nil, badBackup("%s is %d bytes, more than %d", want, hdr.Size, max)
		}
		return hdr, nil
	}
	readAll := func(name string) ([]byte, error) {
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, badBackup("reading %s: %v (truncated?)", name, err)
		}
		return b, nil
	}

	if _, err := next(backupManifestName, maxManifestSize); err != nil {
		return nil, err
	}
	manifest, err := readAll(backupManifestName)
	if err != nil {
		return nil, err
	}
	var m BackupManifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, badBackup("%s: %v", backupManifestName, err)
	}
	switch {
	case m.Format != BackupFormat:
		return nil, badBackup("%s: format %q, want %q", backupManifestName, m.Format, BackupFormat)
	case m.Version != BackupFormatVersion:
		return nil, badBackup("backup format version %d; this gatehouse reads version %d (restore it with the gatehouse that wrote it, or a newer one)",
			m.Version, BackupFormatVersion)
	case len(m.Members) != 2 || m.Members[0].Name != backupDBName || m.Members[1].Name != backupKeyName:
		return nil, badBackup("%s: members must be %s and %s", backupManifestName, backupDBName, backupKeyName)
	}

	// The database, streamed to disk while hashing.
	hdr, err := next(backupDBName, -1)
	if err != nil {
		return nil, err
	}
	if hdr.Size != m.Members[0].Size {
		return nil, badBackup("%s is %d bytes, the manifest says %d", backupDBName, hdr.Size, m.Members[0].Size)
	}
	dir, err := os.MkdirTemp(parent, ".gatehouse-restore-")
	if err != nil {
		return nil, err
	}
	b := &backupFiles{manifest: m, dir: dir, dbPath: filepath.Join(dir, backupDBName)}
	defer func() {
		if err != nil {
			b.remove()
		}
	}()
	f, err := os.OpenFile(b.dbPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), tr)
	if err != nil {
		f.Close()
		return nil, badBackup("reading %s: %v (truncated?)", backupDBName, err)
	}
	dbSum := hex.EncodeToString(h.Sum(nil))
	if dbSum != m.Members[0].SHA256 {
		f.Close()
		return nil, badBackup("%s does not match its checksum (SHA-256 %s, the manifest says %s): the file was altered or damaged",
			backupDBName, dbSum, m.Members[0].SHA256)
	}
	if err := f.Close(); err != nil {
		return nil, err
	}

	if hdr, err = next(backupKeyName, seal.KeySize); err != nil {
		return nil, err
	}
	if hdr.Size != seal.KeySize {
		return nil, badBackup("%s is %d bytes, want %d", backupKeyName, hdr.Size, seal.KeySize)
	}
	if b.key, err = readAll(backupKeyName); err != nil {
		return nil, err
	}
	keySum := sha256.Sum256(b.key)
	if hex.EncodeToString(keySum[:]) != m.Members[1].SHA256 || m.Members[1].Size != seal.KeySize {
		return nil, badBackup("%s does not match its checksum: the file was altered or damaged", backupKeyName)
	}

	if _, err := next(backupSumsName, maxSumsSize); err != nil {
		return nil, err
	}
	sums, err := readAll(backupSumsName)
	if err != nil {
		return nil, err
	}
	manifestSum := sha256.Sum256(manifest)
	want := fmt.Sprintf("%s  %s\n%s  %s\n%s  %s\n",
		hex.EncodeToString(manifestSum[:]), backupManifestName,
		dbSum, backupDBName,
		hex.EncodeToString(keySum[:]), backupKeyName)
	if string(sums) != want {
		return nil, badBackup("%s does not match the members (%s altered or damaged)", backupSumsName, backupManifestName)
	}
	if _, err := tr.Next(); err != io.EOF {
		if err == nil {
			return nil, badBackup("unexpected member after %s", backupSumsName)
		}
		return nil, badBackup("after %s: %v", backupSumsName, err)
	}
	return b, nil
}

// verify inspects the database copy of a container read by readBackup
// with the container's own key.
func (b *backupFiles) verify(ctx context.Context) error {
	if b.manifest.SchemaVersion > SchemaVersion() {
		return schemaTooNew(b.manifest.SchemaVersion)
	}
	s, err := seal.New(b.key)
	if err != nil {
		return err
	}
	info, err := inspectCopy(ctx, b.dbPath, s)
	switch {
	case errors.Is(err, ErrWrongKey):
		return fmt.Errorf("%w: the key in the backup does not open its database (the backup was assembled from "+
			"files of two installations, or altered)", ErrWrongKey)
	case err != nil:
		return err
	case info.schema != b.manifest.SchemaVersion:
		return badBackup("the manifest says schema version %d, the database is at %d", b.manifest.SchemaVersion, info.schema)
	}
	return nil
}

// VerifyBackup reads a backup from r and checks it as Restore does (the
// container, every checksum, the database's integrity, its schema
// version, and that its key opens every sealed value), without touching
// any store. tmpDir holds the database copy meanwhile ("" for the
// system's temporary directory).
func VerifyBackup(ctx context.Context, r io.Reader, tmpDir string) (BackupManifest, error) {
	if tmpDir == "" {
		tmpDir = os.TempDir()
	}
	b, err := readBackup(r, tmpDir)
	if err != nil {
		return BackupManifest{}, fmt.Errorf("store: verify backup: %w", err)
	}
	defer b.remove()
	if err := b.verify(ctx); err != nil {
		return b.manifest, fmt.Errorf("store: verify backup: %w", err)
	}
	return b.manifest, nil
}

// RestoreOptions tune Restore.
type RestoreOptions struct {
	// Force replaces an existing database or key file; without it their
	// presence is an error wrapping ErrExists.
	Force bool
	KeyOptions
}

// Restore replaces the store at dbPath, and its key file at keyPath, with
// the backup read from r. It first reads and checks the whole backup as
// [VerifyBackup] does; a damaged or altered file ([ErrBadBackup]), a key
// that does not open the backup's secrets ([ErrWrongKey]) or a schema
// newer than this program ([ErrSchemaTooNew]) is refused with nothing
// changed. A store already at dbPath or keyPath is refused too
// ([ErrExists]) unless opt.Force is set, and one that anything has open,
// a running gateway included, is refused with [ErrInUse].
//
// The switch is a key change as in [Rekey], made while holding the
// database's exclusive lock: the backup's key is written to
// keyPath+NewKeySuffix; the backup's pages are copied over the database by
// SQLite's backup API, in one transaction, through the locked connection;
// the key file is renamed into place. SQLite itself replays or discards
// the old database's WAL, and openers waiting on the lock find the new
// content in the same file. Where there was no database, an empty one is
// created first (after stray -wal, -shm and -journal files, which SQLite
// would replay into it, are removed) and removed again if the restore
// fails before its commit. A crash at any point leaves, once [RecoverKey]
// has run, either the old store or the restored one.
//
// A database from an older schema is restored as it is; the next Open
// migrates it.
func Restore(ctx context.Context, r io.Reader, dbPath, keyPath string, opt RestoreOptions) (BackupManifest, error) {
	var err error
	if dbPath, err = filepath.Abs(dbPath); err != nil {
		return BackupManifest{}, err
	}
	if keyPath, err = filepath.Abs(keyPath); err != nil {
		return BackupManifest{}, err
	}
	fail := func(err error) (BackupManifest, error) {
		return BackupManifest{}, fmt.Errorf("store: restore: %w", err)
	}
	if !opt.Force {
		if err := refuseStore(dbPath, keyPath); err != nil {
			return fail(err)
		}
	}
	// Settle an earlier interrupted key change, so that its file is not
	// taken for this one's.
	if _, err := RecoverKey(ctx, dbPath, keyPath, opt.KeyOptions); err != nil {
		return fail(err)
	}
	for _, d := range []string{filepath.Dir(dbPath), filepath.Dir(keyPath)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(err)
		}
	}
	b, err := readBackup(r, filepath.Dir(dbPath))
	if err != nil {
		return fail(err)
	}
	defer b.remove()
	if err := b.verify(ctx); err != nil {
		return fail(err)
	}
	if !opt.Force {
		if err := refuseStore(dbPath, keyPath); err != nil {
			return fail(err)
		}
	}
	created := false
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		if err := createEmpty(dbPath); err != nil {
			return fail(err)
		}
		created = true
	}
	committed, err := b.restoreOver(ctx, dbPath, keyPath, opt.lockWait())
	if err != nil {
		if created && !committed {
			os.Remove(dbPath)
		}
		return fail(err)
	}
	return b.manifest, nil
}

// emptyDB reports whether the file at path is an empty database: no
// bytes, or a database file (https://sqlite.org/fileformat.html) whose
// schema table on page 1 has no rows, with no WAL beside it that could
// hold more.
func emptyDB(path string) bool {
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var hdr [108]byte
	n, err := io.ReadFull(f, hdr[:])
	if n == 0 && err == io.EOF {
		return true
	}
	// Header string, then at offset 100 the b-tree header of page 1:
	// a table leaf (0x0d) whose cell count (offset 103) is 0.
	return err == nil && string(hdr[:16]) == "SQLite format 3\x00" &&
		hdr[100] == 0x0d && hdr[103] == 0 && hdr[104] == 0
}

// createEmpty creates an empty database file (mode 0600) where there was
// none, first removing the -wal, -shm and -journal files a deleted
// database may have left: SQLite would replay them into the new one.
func createEmpty(dbPath string) error {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	f, err := os.OpenFile(dbPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s appeared during the restore: %w", dbPath, ErrExists)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// refuseStore is an error wrapping ErrExists if the database or the key
// file exists. A database without a single table (what a crash during a
// restore into an empty place leaves) holds nothing and does not count.
func refuseStore(dbPath, keyPath string) error {
	var found []string
	for _, p := range []string{dbPath, keyPath} {
		if err := refuseFile(p); errors.Is(err, ErrExists) {
			if p == dbPath && emptyDB(p) {
				continue
			}
			found = append(found, p)
		} else if err != nil {
			return err
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("a store is already there (%s): %w", strings.Join(found, ", "), ErrExists)
	}
	return nil
}

// restoreOver replaces the database at dbPath (possibly an empty file),
// holding its exclusive lock. committed reports whether the database was
// replaced, even when an error follows.
func (b *backupFiles) restoreOver(ctx context.Context, dbPath, keyPath string, wait time.Duration) (committed bool, err error) {
	ex, err := lockExclusive(ctx, dbPath, wait)
	if err != nil {
		return false, err
	}
	defer ex.close()
	if _, err := recoverLocked(ctx, ex, keyPath); err != nil {
		return false, err
	}
	if err := writeNewFile(keyPath+NewKeySuffix, b.key); err != nil {
		return false, fmt.Errorf("write the key: %w", err)
	}
	crashPoint("new key written")
	if err := b.copyPages(ctx, ex); err != nil {
		// The key check decides whether the copy committed.
		rec, rerr := recoverLocked(context.WithoutCancel(ctx), ex, keyPath)
		if rerr != nil {
			err = errors.Join(err, rerr)
		}
		return rec == KeyRolledForward || rerr != nil, err
	}
	crashPoint("committed")
	if err := os.Rename(keyPath+NewKeySuffix, keyPath); err != nil {
		return true, fmt.Errorf("the database is restored and needs the key in %s, but it could not be renamed to %s "+
			"(any gatehouse command will retry): %w", keyPath+NewKeySuffix, keyPath, err)
	}
	syncDir(filepath.Dir(keyPath))
	crashPoint("installed")
	return true, nil
}

// copyPages copies the database copy into the locked database with
// SQLite's online backup API, as one write transaction.
func (b *backupFiles) copyPages(ctx context.Context, ex *exclusive) error {
	q := url.Values{}
	q.Set("mode", "ro")
	src := (&url.URL{Scheme: "file", Path: b.dbPath, RawQuery: q.Encode()}).String()
	err := ex.conn.Raw(func(dc any) error {
		r, ok := dc.(interface {
			NewRestore(string) (*sqlite.Backup, error)
		})
		if !ok {
			return errors.New("the sqlite driver has no backup API")
		}
		bk, err := r.NewRestore(src)
		if err != nil {
			return err
		}
		_, err = bk.Step(-1)
		if ferr := bk.Finish(); err == nil {
			err = ferr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("copy the database into %s: %w", ex.path, err)
	}
	return nil
}
