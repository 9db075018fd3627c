package channel

import (
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
)

// writer sends frames on a connection, from many goroutines. A goroutine
// that finds no write in progress writes the queue itself; frames queued
// while it writes go out in its next write, so that everything queued at
// the moment of a write travels in one.
type writer struct {
	conn net.Conn
	// broken is told of the first write error of a write nobody waits
	// for (sendLater's).
	broken func(error)
	// yield: let other ready goroutines queue before each write.
	yield bool

	mu struct {
		sync.Mutex
		queue    []byte // frames waiting for the next write
		spare    []byte // the last write's buffer, for reuse
		busy     bool   // a goroutine is writing
		err      error  // the first write error; every later send fails with it
		deadline time.Time
	}

	frames, writes atomic.Uint64
}

// maxKeep bounds the buffers kept for reuse after a large frame.
const maxKeep = 256 << 10

// send queues the frame (h, m) and writes, unless another goroutine is
// writing. A write that has not finished at deadline (zero: none) fails.
// An encoding error concerns this frame only and leaves the writer
// usable; a write error is returned to this and every later send.
func (w *writer) send(h frame.Header, m proto.Message, deadline time.Time) error {
	return w.sendYield(h, m, deadline, w.yield)
}

// sendYield is send, yielding before the write if yield is set.
func (w *writer) sendYield(h frame.Header, m proto.Message, deadline time.Time, yield bool) error {
	w.mu.Lock()
	if err := w.mu.err; err != nil {
		w.mu.Unlock()
		return err
	}
	q, err := frame.AppendMessage(w.mu.queue, h, m)
	w.mu.queue = q
	if err != nil {
		w.mu.Unlock()
		return &encodeError{err}
	}
	w.frames.Add(1)
	if w.mu.busy {
		w.mu.Unlock()
		return nil
	}
	if yield {
		w.mu.busy = true
		// Let the goroutines that are ready to run queue their frames
		// first: under load they join this write; when nothing else is
		// ready, Gosched returns at once.
		w.mu.Unlock()
		runtime.Gosched()
		w.mu.Lock()
	}
	w.flushLocked(deadline)
	err = w.mu.err
	w.mu.Unlock()
	return err
}

// flushLocked writes the queue until it is empty, releasing the lock
// while writing.
func (w *writer) flushLocked(deadline time.Time) {
	w.mu.busy = true
	for len(w.mu.queue) > 0 && w.mu.err == nil {
		out := w.mu.queue
		w.mu.queue = w.mu.spare[:0]
		set := !deadline.Equal(w.mu.deadline)
		w.mu.deadline = deadline
		w.mu.Unlock()
		var err error
		if set {
			err = w.conn.SetWriteDeadline(deadline)
		}
		if err == nil {
			_, err = w.conn.Write(out)
		}
		w.writes.Add(1)
		w.mu.Lock()
		if cap(out) <= maxKeep {
			w.mu.spare = out[:0]
		} else {
			w.mu.spare = nil
		}
		if err != nil {
			w.mu.err = err
		}
	}
	w.mu.busy = false
}

// sendLater queues the frame (h, no payload) and makes sure a goroutine
// writes it, without waiting for the write: a caller whose deadline has
// passed must not wait for a socket. A write that has not finished by
// deadline fails the writer.
func (w *writer) sendLater(h frame.Header, deadline time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.mu.err != nil {
		return
	}
	w.mu.queue = h.Append(w.mu.queue)
	w.frames.Add(1)
	if w.mu.busy {
		return
	}
	w.mu.busy = true
	go func() {
		w.mu.Lock()
		w.flushLocked(deadline)
		err := w.mu.err
		w.mu.Unlock()
		if err != nil && w.broken != nil {
			w.broken(fmt.Errorf("writing: %w", err))
		}
	}()
}

// encodeError is a frame that could not be encoded (too large).
type encodeError struct{ err error }

func (e *encodeError) Error() string { return e.err.Error() }
func (e *encodeError) Unwrap() error { return e.err }
