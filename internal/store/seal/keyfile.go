package seal

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKey returns the key in the file at path, creating the file
// with a fresh random key and mode 0600 if it does not exist. The directory
// must exist.
//
// An existing file must be a regular file of exactly [KeySize] bytes that
// neither group nor others can access; otherwise the error says what is
// wrong and, for permissions, which chmod to run. Creation is safe against
// a concurrent caller (another process starting at the same moment): the
// key is written to a temporary file and linked into place, so a reader
// sees either no file or a complete one, and both callers end with the
// same key.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := loadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKey(path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	// Created here, or by a concurrent caller that linked first.
	return loadKey(path)
}

// LoadKey reads an existing key file, with LoadOrCreateKey's checks; it
// never creates one.
func LoadKey(path string) ([]byte, error) { return loadKey(path) }

func loadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("seal: key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("seal: key file %s is not a regular file (%s)", path, fi.Mode().Type())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("seal: key file %s has mode %04o: group or others can access it; run: chmod 600 %s",
			path, perm, path)
	}
	if fi.Size() != KeySize {
		return nil, fmt.Errorf("seal: key file %s is %d bytes, want %d: it is not a Gatehouse key, or it was truncated",
			path, fi.Size(), KeySize)
	}
	key := make([]byte, KeySize)
	if _, err := io.ReadFull(f, key); err != nil {
		return nil, fmt.Errorf("seal: key file %s: %w", path, err)
	}
	return key, nil
}

// createKey writes a new key to a temporary file beside path and links it
// to path. It returns an error wrapping fs.ErrExist if path appeared
// meanwhile.
func createKey(path string) (err error) {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("seal: new key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	// CreateTemp makes the file 0600 already; say so explicitly.
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("seal: create key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("seal: create key file: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a new directory entry durable; failure only weakens
// durability, not correctness, so it is ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
