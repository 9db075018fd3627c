//go:build unix

package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// walIndex reads the header of a WAL-mode database's wal-index, the -shm
// file every connection maps (https://www.sqlite.org/walformat.html,
// section 2.2.1, "The WAL-Index Header"). Its first 48 bytes are the
// WalIndexHdr, followed by a second copy: iVersion (3007000), unused,
// iChange (incremented by every transaction that writes), isInit,
// bigEndCksum, szPage, mxFrame (frames in the WAL), nPage, two frame
// checksums, two salts (changed when the WAL restarts) and two header
// checksums, in native byte order. A writer updates the second copy,
// then the first, before its commit returns; so a commit that has
// returned, in any process, shows in the first copy.
//
// Reading it costs two dozen loads of shared memory instead of the
// system calls of a read transaction. Cache uses it to ask "has anything
// committed since?" and falls back to PRAGMA data_version when the file
// cannot be mapped or its version is not the one documented.
type walIndex struct {
	mem []byte // the first page of the -shm file, mapped read-only
}

const (
	walIndexVersion = 3007000
	walHeaderLen    = 48
)

func openWALIndex(dbPath string) (*walIndex, error) {
	f, err := os.Open(dbPath + "-shm")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := os.Getpagesize()
	if fi.Size() < int64(size) {
		return nil, fmt.Errorf("%s-shm is %d bytes, less than a page", dbPath, fi.Size())
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %s-shm: %w", dbPath, err)
	}
	w := &walIndex{mem: mem}
	if _, ok := w.stamp(); !ok {
		w.close()
		return nil, errors.New("the wal-index header is not the documented one")
	}
	return w, nil
}

func (w *walIndex) close() { _ = syscall.Munmap(w.mem) }

// walStamp is the part of the header that a write changes.
type walStamp struct{ change, mxFrame, salt1, salt2 uint32 }

func (w *walIndex) load(off int) uint32 {
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&w.mem[off])))
}

// stamp reads the header's stamp; ok is false when the version is not
// the documented one or the two copies differed three times in a row (a
// writer was updating them).
func (w *walIndex) stamp() (walStamp, bool) {
	if binary.NativeEndian.Uint32(w.mem[0:4]) != walIndexVersion {
		return walStamp{}, false
	}
	for range 3 {
		var s [2]walStamp
		for i := range s {
			base := i * walHeaderLen
			s[i] = walStamp{w.load(base + 8), w.load(base + 16), w.load(base + 32), w.load(base + 36)}
		}
		if s[0] == s[1] {
			return s[0], true
		}
	}
	return walStamp{}, false
}
