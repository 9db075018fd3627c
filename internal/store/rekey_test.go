package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/internal/store/seal"
)

// sealedUnder reports whether every sealed value in the store's file
// opens under key.
func sealedUnder(t *testing.T, st *Store, key []byte) bool {
	t.Helper()
	rows, err := readSealed(context.Background(), st.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 5 { // key check, 2 passwords, 2 tokens
		t.Fatalf("only %d sealed values", len(rows))
	}
	s := testSealer(t, key)
	for _, r := range rows {
		if _, err := s.Open(r.sealed, r.aad()); err != nil {
			return false
		}
	}
	return true
}

func TestRekey(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t)
	fill(t, st)
	st.Close()
	oldKey := ds.keyBytes(t)

	res, err := Rekey(ctx, ds.db, ds.key, KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Passwords != 2 || res.Tokens != 2 || res.Recovered != KeyNothingPending {
		t.Errorf("result %+v, want 2 passwords, 2 tokens", res)
	}
	newKey := ds.keyBytes(t)
	if bytes.Equal(oldKey, newKey) {
		t.Fatal("the key did not change")
	}
	fi, err := os.Stat(ds.key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new key file: %v, %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(ds.db))
	if len(entries) != 2 { // the database and the key: no -wal, no .new, no old key
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v", names)
	}

	st = ds.open(t)
	integrityOK(t, st)
	checkSecrets(t, st)
	if !sealedUnder(t, st, newKey) {
		t.Error("a value is not sealed under the new key")
	}
	rows, _ := readSealed(ctx, st.db)
	old := testSealer(t, oldKey)
	for _, r := range rows {
		if _, err := old.Open(r.sealed, r.aad()); err == nil {
			t.Errorf("%s still opens with the old key", r)
		}
	}
	if _, err := Open(ctx, ds.db, old); !errors.Is(err, ErrWrongKey) {
		t.Errorf("open with the old key: %v, want ErrWrongKey", err)
	}
	// New secrets go under the new key, and a second rekey works.
	must(t, st.AddUser(ctx, "dave"))
	must(t, st.SetPassword(ctx, "dave", "dave's"))
	st.Close()
	if res, err := Rekey(ctx, ds.db, ds.key, KeyOptions{}); err != nil || res.Passwords != 3 {
		t.Fatalf("second rekey: %+v, %v", res, err)
	}
	checkSecrets(t, ds.open(t))
}

func TestRekeyRefusesInUse(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	st := ds.open(t) // the running gateway
	fill(t, st)
	oldKey := ds.keyBytes(t)
	_, err := Rekey(ctx, ds.db, ds.key, KeyOptions{LockWait: 50 * time.Millisecond})
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "stop the gateway") {
		t.Fatalf("err = %v, want ErrInUse", err)
	}
	if !bytes.Equal(ds.keyBytes(t), oldKey) {
		t.Error("the key changed")
	}
	if _, err := os.Lstat(ds.key + NewKeySuffix); err == nil {
		t.Error("a new key file was left")
	}
	checkSecrets(t, st)
}

// The same with the store open in another process, idle, as a gateway
// waiting for logins keeps it.
func TestRekeyRefusesInUseByProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: starts processes; not in -short")
	}
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	fillClosed(t, ds)
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyChangeCrashWorker$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GATEHOUSE_CRASH_OP=hold",
		"GATEHOUSE_CRASH_DB="+ds.db, "GATEHOUSE_CRASH_KEY="+ds.key, "GATEHOUSE_CRASH_READY="+ready)
	must(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder did not open the store")
		}
	}
	oldKey := ds.keyBytes(t)
	if _, err := Rekey(ctx, ds.db, ds.key, KeyOptions{LockWait: 100 * time.Millisecond}); !errors.Is(err, ErrInUse) {
		t.Fatalf("rekey: %v, want ErrInUse", err)
	}
	data, _ := backupBytes(t)
	if _, err := Restore(ctx, bytes.NewReader(data), ds.db, ds.key,
		RestoreOptions{Force: true, KeyOptions: KeyOptions{LockWait: 100 * time.Millisecond}}); !errors.Is(err, ErrInUse) {
		t.Fatalf("restore: %v, want ErrInUse", err)
	}
	if !bytes.Equal(ds.keyBytes(t), oldKey) {
		t.Error("the key changed")
	}
	// Once the holder is gone, both work.
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := Rekey(ctx, ds.db, ds.key, KeyOptions{}); err != nil {
		t.Fatal(err)
	}
	checkSecrets(t, ds.open(t))
}

func TestRekeyRefusesWrongKey(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	fillClosed(t, ds)
	must(t, os.Remove(ds.key))
	other := newDiskStore(t, filepath.Dir(ds.key)) // writes a different secret.key
	if _, err := Rekey(ctx, ds.db, other.key, KeyOptions{}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("err = %v, want ErrWrongKey", err)
	}
	if _, err := os.Lstat(ds.key + NewKeySuffix); err == nil {
		t.Error("a new key file was left")
	}
}

// The crash points of a key change (Rekey, or Restore over a store), and
// what recovery must do at each: before the commit the old key stays,
// from the commit on the new one wins.
var crashPoints = []struct {
	step string
	want KeyRecovery
}{
	{"new key written", KeyRolledBack},
	{"in transaction", KeyRolledBack},
	{"committed", KeyRolledForward},
	{"installed", KeyNothingPending},
}

type crashed struct{}

// Each crash point, in the process: the key change stops there (a panic
// unwinds it), and the store must open, with every secret, under the key
// recovery settles on.
func TestRekeyCrashInProcess(t *testing.T) {
	for _, cp := range crashPoints {
		t.Run(cp.step, func(t *testing.T) {
			ctx := context.Background()
			ds := newDiskStore(t, t.TempDir())
			fillClosed(t, ds)
			oldKey := ds.keyBytes(t)

			rekeyCrash = func(step string) {
				if step == cp.step {
					panic(crashed{})
				}
			}
			func() {
				defer func() {
					if r := recover(); r != (crashed{}) {
						t.Fatalf("rekey did not reach %q (recovered %v)", cp.step, r)
					}
				}()
				Rekey(ctx, ds.db, ds.key, KeyOptions{})
			}()
			rekeyCrash = nil
			checkRecovery(t, ds, oldKey, cp.want)
		})
	}
}

// checkRecovery runs RecoverKey after a crash and checks what it did and
// that the store opens with every secret under the right key.
func checkRecovery(t *testing.T, ds diskStore, oldKey []byte, want KeyRecovery) {
	t.Helper()
	ctx := context.Background()
	_, err := os.Lstat(ds.key + NewKeySuffix)
	if pending := err == nil; pending != (want != KeyNothingPending) {
		t.Fatalf("new key file present: %v, want %v", pending, want != KeyNothingPending)
	}
	var newKey []byte
	if want != KeyNothingPending {
		newKey, err = loadKeyFile(ds.key + NewKeySuffix)
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := RecoverKey(ctx, ds.db, ds.key, KeyOptions{})
	if err != nil || got != want {
		t.Fatalf("RecoverKey = %v, %v; want %v", got, err, want)
	}
	if _, err := os.Lstat(ds.key + NewKeySuffix); err == nil {
		t.Error("the new key file is still there")
	}
	key := ds.keyBytes(t)
	switch want {
	case KeyRolledBack:
		if !bytes.Equal(key, oldKey) {
			t.Error("rolled back, but the key file changed")
		}
	case KeyRolledForward:
		if !bytes.Equal(key, newKey) {
			t.Error("rolled forward, but the key file is not the new key")
		}
	case KeyNothingPending:
		if bytes.Equal(key, oldKey) {
			t.Error("the key change completed, but the key file is the old key")
		}
	}
	st := ds.open(t)
	integrityOK(t, st)
	checkSecrets(t, st)
	if !sealedUnder(t, st, key) {
		t.Error("the store is not sealed under its key file")
	}
	// The next key change starts from a clean state.
	st.Close()
	if _, err := Rekey(ctx, ds.db, ds.key, KeyOptions{}); err != nil {
		t.Fatalf("rekey after recovery: %v", err)
	}
	checkSecrets(t, ds.open(t))
}

// The same crash points with a real crash: a child process runs the key
// change and is killed (SIGKILL) at the step, leaving whatever it had
// written, its uncommitted WAL frames included, and no lock.
func TestRekeyCrashProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: starts processes; not in -short")
	}
	for _, cp := range crashPoints {
		t.Run(cp.step, func(t *testing.T) {
			ds := newDiskStore(t, t.TempDir())
			fillClosed(t, ds)
			oldKey := ds.keyBytes(t)
			crashChild(t, "rekey", cp.step, ds, nil)
			checkRecovery(t, ds, oldKey, cp.want)
		})
	}
}

// Restore over a store, killed at each step: recovery gives the old store
// before the commit and the restored one from it on.
func TestRestoreCrashProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: starts processes; not in -short")
	}
	data, src := backupBytes(t)
	backup := filepath.Join(t.TempDir(), "backup.tar")
	must(t, os.WriteFile(backup, data, 0o600))
	for _, cp := range crashPoints {
		if cp.step == "in transaction" {
			continue // the page copy is one SQLite call
		}
		t.Run(cp.step, func(t *testing.T) {
			ctx := context.Background()
			ds := newDiskStore(t, t.TempDir())
			st := ds.open(t)
			must(t, st.AddUser(ctx, "zed"))
			st.Close()
			oldKey := ds.keyBytes(t)
			crashChild(t, "restore", cp.step, ds, []string{"GATEHOUSE_CRASH_BACKUP=" + backup})

			got, err := RecoverKey(ctx, ds.db, ds.key, KeyOptions{})
			if err != nil || got != cp.want {
				t.Fatalf("RecoverKey = %v, %v; want %v", got, err, cp.want)
			}
			st = ds.open(t)
			integrityOK(t, st)
			_, zedErr := st.User(ctx, "zed")
			if cp.want == KeyRolledBack {
				if zedErr != nil || !bytes.Equal(ds.keyBytes(t), oldKey) {
					t.Errorf("rolled back, but the old store is not there: %v", zedErr)
				}
				return
			}
			if !errors.Is(zedErr, ErrNotFound) || !bytes.Equal(ds.keyBytes(t), src.keyBytes(t)) {
				t.Errorf("rolled forward, but the store is not the backup: zed %v", zedErr)
			}
			checkSecrets(t, st)
		})
	}
}

// Restore into an empty place, killed at each step: before the commit
// there is no store (an empty database file, which a restore without
// force accepts), from it on the restored one.
func TestRestoreFreshCrashProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIP: starts processes; not in -short")
	}
	data, _ := backupBytes(t)
	backup := filepath.Join(t.TempDir(), "backup.tar")
	must(t, os.WriteFile(backup, data, 0o600))
	for _, cp := range crashPoints {
		if cp.step == "in transaction" {
			continue
		}
		t.Run(cp.step, func(t *testing.T) {
			ctx := context.Background()
			ds := freshTarget(t)
			crashChild(t, "restore", cp.step, ds, []string{"GATEHOUSE_CRASH_BACKUP=" + backup})
			got, err := RecoverKey(ctx, ds.db, ds.key, KeyOptions{})
			if err != nil || got != cp.want {
				t.Fatalf("RecoverKey = %v, %v; want %v", got, err, cp.want)
			}
			if cp.want == KeyRolledBack {
				if _, err := os.Lstat(ds.key); err == nil {
					t.Fatal("rolled back, but a key file is there")
				}
				if _, err := Restore(ctx, bytes.NewReader(data), ds.db, ds.key, RestoreOptions{}); err != nil {
					t.Fatalf("restore again: %v", err)
				}
			}
			st := ds.open(t)
			integrityOK(t, st)
			checkSecrets(t, st)
		})
	}
}

// crashChild runs TestKeyChangeCrashWorker in a child process, which dies
// by SIGKILL at step.
func crashChild(t *testing.T, op, step string, ds diskStore, env []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyChangeCrashWorker$", "-test.count=1")
	cmd.Env = append(append(os.Environ(),
		"GATEHOUSE_CRASH_OP="+op, "GATEHOUSE_CRASH_STEP="+step,
		"GATEHOUSE_CRASH_DB="+ds.db, "GATEHOUSE_CRASH_KEY="+ds.key), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed at %q: %v\n%s", step, err, out)
	}
}

// TestKeyChangeCrashWorker is the child of the crash tests; it does
// nothing in a normal run.
func TestKeyChangeCrashWorker(t *testing.T) {
	op := os.Getenv("GATEHOUSE_CRASH_OP")
	if op == "" {
		t.Skip("child process of the crash tests")
	}
	step := os.Getenv("GATEHOUSE_CRASH_STEP")
	rekeyCrash = func(s string) {
		if s == step {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	ctx := context.Background()
	db, key := os.Getenv("GATEHOUSE_CRASH_DB"), os.Getenv("GATEHOUSE_CRASH_KEY")
	switch op {
	case "hold":
		st, err := diskStore{db: db, key: key}.tryOpen()
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.User(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(os.Getenv("GATEHOUSE_CRASH_READY"), nil, 0o600))
		time.Sleep(time.Minute)
	case "rekey":
		_, err := Rekey(ctx, db, key, KeyOptions{})
		t.Fatalf("rekey finished without reaching %q: %v", step, err)
	case "restore":
		f, err := os.Open(os.Getenv("GATEHOUSE_CRASH_BACKUP"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Restore(ctx, f, db, key, RestoreOptions{Force: true})
		t.Fatalf("restore finished without reaching %q: %v", step, err)
	}
}

// RecoverKey touches nothing when neither key opens the database.
func TestRecoverKeyNeitherKey(t *testing.T) {
	ctx := context.Background()
	ds := newDiskStore(t, t.TempDir())
	fillClosed(t, ds)
	must(t, os.Remove(ds.key))
	must(t, writeNewFile(ds.key, bytes.Repeat([]byte{1}, seal.KeySize)))
	must(t, writeNewFile(ds.key+NewKeySuffix, bytes.Repeat([]byte{2}, seal.KeySize)))
	if _, err := RecoverKey(ctx, ds.db, ds.key, KeyOptions{}); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("err = %v, want ErrWrongKey", err)
	}
	for _, p := range []string{ds.key, ds.key + NewKeySuffix} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// Every BLOB column of the schema is one rekey reseals, so a migration
// that adds a sealed column cannot be forgotten by rekey and restore.
func TestSealedColumnsComplete(t *testing.T) {
	st := newStore(t)
	listed := map[string]bool{}
	for _, c := range sealedColumns {
		listed[c.table+"."+c.col] = true
	}
	rows, err := st.db.Query(`SELECT t.name, c.name, c.type FROM sqlite_schema t, pragma_table_info(t.name) c
		WHERE t.type = 'table' ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, col, typ string
		must(t, rows.Scan(&table, &col, &typ))
		if strings.EqualFold(typ, "BLOB") {
			n++
			if !listed[table+"."+col] {
				t.Errorf("%s.%s is a BLOB column not in sealedColumns (rekey.go): if it holds sealed values, add it", table, col)
			}
		}
	}
	if n != len(sealedColumns) {
		t.Errorf("%d BLOB columns, %d sealed columns", n, len(sealedColumns))
	}
	var keys []string
	r2, err := st.db.Query(`SELECT key FROM meta`)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for r2.Next() {
		var k string
		must(t, r2.Scan(&k))
		keys = append(keys, k)
	}
	if strings.Join(keys, ",") != metaKeyCheck {
		t.Errorf("meta holds %v; a new sealed meta value must be added to sealedColumns", keys)
	}
}
