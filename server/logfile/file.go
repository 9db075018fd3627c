package logfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"
)

// Defaults for the configuration (log.max_size, log.max_files) and for a
// zero Options.Mode.
const (
	DefaultMaxSize  = 100 << 20
	DefaultMaxFiles = 5
	DefaultMode     = 0o640
)

// retryEvery is how long File waits, after it failed to open or rotate
// its file, before it tries again; meanwhile it writes where it can (the
// old file) or counts the lines as lost.
const retryEvery = time.Second

// Options configure a File. They map onto the configuration: log.max_size
// is MaxSize, log.max_files is MaxFiles.
type Options struct {
	// MaxSize is the size in bytes past which the file is rotated. 0
	// turns built-in rotation off: leave it to logrotate, which sends
	// SIGUSR1 so the gateway calls Reopen. The configuration's default is
	// DefaultMaxSize.
	MaxSize int64
	// MaxFiles is how many rotated files are kept (path.1, the newest, to
	// path.MaxFiles); 0 means DefaultMaxFiles.
	MaxFiles int
	// Mode is the permission of a file File creates, set whatever the
	// umask; 0 means DefaultMode (0640: the owner writes, the adm group
	// reads, as for the rest of /var/log). A file that exists keeps its
	// mode.
	Mode os.FileMode
	// Errors is where write and rotation failures are reported, once per
	// run of failures; nil means standard error (the journal, under
	// systemd).
	Errors io.Writer

	now func() time.Time // tests
}

// FileStats counts what File did since Open.
type FileStats struct {
	// Rotations counts completed size rotations.
	Rotations uint64
	// Errors counts failed writes, opens and rotations.
	Errors uint64
	// Lost counts writes (log lines) that went nowhere.
	Lost uint64
}

// File is a log file that rotates itself by size and can be reopened
// after an external rotation. It is an io.Writer safe for concurrent use;
// each Write is written whole, in one write(2) to a file opened with
// O_APPEND, so lines from concurrent writers never mix.
//
// A failure never reaches the caller: Write always returns len(p), nil,
// so a full disk cannot stop the gateway or an io.MultiWriter it feeds.
// Failures are counted (Stats) and reported on Options.Errors, once when
// they begin and once when writing works again, with the number of lines
// lost.
type File struct {
	path string
	opts Options

	mu       sync.Mutex
	f        *os.File // nil after a failed open: retry at retryAt
	size     int64    // bytes in f, as far as File knows
	retryAt  time.Time
	failing  bool   // a failure was reported and writing has not worked since
	lostRun  uint64 // lines lost since the failure was reported
	closed   bool
	stats    FileStats
	rotateAt time.Time // after a failed rotation, do not try again before
	// rotateFailing: a rotation failure was reported and no rotation has
	// worked since.
	rotateFailing bool
}

// Open opens path for appending, creating it with Options.Mode if needed.
// The directory must exist. An error here means the file cannot be used at
// all; the caller logs to standard error instead.
func Open(path string, opts Options) (*File, error) {
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("logfile: %s: negative max size %d", path, opts.MaxSize)
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.Mode == 0 {
		opts.Mode = DefaultMode
	}
	if opts.Errors == nil {
		opts.Errors = os.Stderr
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	lf := &File{path: path, opts: opts}
	if err := lf.openLocked(); err != nil {
		return nil, fmt.Errorf("logfile: %w", err)
	}
	return lf, nil
}

// Path is the file's path as given to Open.
func (lf *File) Path() string { return lf.path }

// openLocked opens lf.path for appending, creating it with the configured
// mode.
func (lf *File) openLocked() error {
	f, err := os.OpenFile(lf.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, lf.opts.Mode)
	if err == nil {
		// Created: set the mode the umask may have narrowed.
		if err := f.Chmod(lf.opts.Mode); err != nil {
			f.Close()
			return err
		}
	} else if errors.Is(err, fs.ErrExist) {
		f, err = os.OpenFile(lf.path, os.O_WRONLY|os.O_APPEND, 0)
	}
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	lf.f, lf.size = f, st.Size()
	return nil
}

// Write writes p, a whole log line, to the file, rotating first when p
// would take it past MaxSize. It always returns len(p), nil.
func (lf *File) Write(p []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		lf.stats.Lost++
		return len(p), nil
	}
	now := lf.opts.now()
	if lf.f == nil {
		if now.Before(lf.retryAt) {
			lf.lose()
			return len(p), nil
		}
		if err := lf.openLocked(); err != nil {
			lf.fail("open", err, now)
			lf.lose()
			return len(p), nil
		}
	}
	if lf.opts.MaxSize > 0 && lf.size > 0 && lf.size+int64(len(p)) > lf.opts.MaxSize && !now.Before(lf.rotateAt) {
		// Believe the file system, not the count: logrotate's copytruncate
		// or an operator's "> file" may have emptied it.
		if st, err := lf.f.Stat(); err == nil {
			lf.size = st.Size()
		}
		if lf.size > 0 && lf.size+int64(len(p)) > lf.opts.MaxSize {
			if err := lf.rotateLocked(); err != nil {
				// Write on to the file we have; try again in a minute.
				lf.rotateAt = now.Add(time.Minute)
				lf.stats.Errors++
				if !lf.rotateFailing {
					lf.rotateFailing = true
					fmt.Fprintf(lf.opts.Errors, "gatehouse: log file %s: cannot rotate: %v; writing on to the current file and trying again every minute (reported once)\n",
						lf.path, err)
				}
			} else if lf.rotateFailing {
				lf.rotateFailing = false
				fmt.Fprintf(lf.opts.Errors, "gatehouse: log file %s: rotation works again\n", lf.path)
			}
		}
	}
	n, err := lf.f.Write(p)
	lf.size += int64(n)
	if err != nil {
		lf.fail("write", err, now)
		lf.lose()
		return len(p), nil
	}
	lf.recovered()
	return len(p), nil
}

// rotateLocked renames path.(N-1) to path.N, ..., path to path.1 (the
// oldest, path.N, is replaced), and opens a new path. When a rename or the
// open fails, lf.f stays the file it was, so writing goes on there (under
// its new name, if it was renamed).
func (lf *File) rotateLocked() error {
	// Shift only the files there are: path.1 to path.top exist.
	top := 0
	for top < lf.opts.MaxFiles-1 {
		if _, err := os.Lstat(lf.name(top + 1)); err != nil {
			break
		}
		top++
	}
	for i := top; i >= 1; i-- {
		if err := os.Rename(lf.name(i), lf.name(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(lf.path, lf.name(1)); err != nil {
		return err
	}
	old := lf.f
	if err := lf.openLocked(); err != nil {
		return err
	}
	old.Close()
	lf.stats.Rotations++
	return nil
}

func (lf *File) name(i int) string { return lf.path + "." + strconv.Itoa(i) }

// Reopen closes the file and opens path again, creating it if it is not
// there: call it on SIGUSR1, after logrotate (in its default "create"
// mode) has renamed the file away. A failure is also reported on
// Options.Errors; Write keeps trying to open the file.
func (lf *File) Reopen() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return errors.New("logfile: reopen: closed")
	}
	if lf.f != nil {
		lf.f.Close()
		lf.f = nil
	}
	if err := lf.openLocked(); err != nil {
		now := lf.opts.now()
		lf.retryAt = now.Add(retryEvery)
		lf.fail("reopen", err, now)
		return fmt.Errorf("logfile: reopen: %w", err)
	}
	return nil
}

// Close closes the file. Later writes are counted as lost.
func (lf *File) Close() error {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.closed {
		return nil
	}
	lf.closed = true
	if lf.f == nil {
		return nil
	}
	err := lf.f.Close()
	lf.f = nil
	return err
}

// Stats returns the counters.
func (lf *File) Stats() FileStats {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	return lf.stats
}

func (lf *File) lose() {
	lf.stats.Lost++
	lf.lostRun++
}

// fail counts a failure and reports it, unless one is already reported.
func (lf *File) fail(op string, err error, now time.Time) {
	lf.stats.Errors++
	if lf.f == nil && lf.retryAt.Before(now) {
		lf.retryAt = now.Add(retryEvery)
	}
	if lf.failing {
		return
	}
	lf.failing = true
	fmt.Fprintf(lf.opts.Errors, "gatehouse: log file %s: %s: %v; log lines are being lost until it works again (reported once)\n",
		lf.path, op, err)
}

// recovered reports the end of a run of failures.
func (lf *File) recovered() {
	if !lf.failing {
		return
	}
	fmt.Fprintf(lf.opts.Errors, "gatehouse: log file %s: writing works again; %d log lines were lost\n", lf.path, lf.lostRun)
	lf.failing, lf.lostRun = false, 0
}
