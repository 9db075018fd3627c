package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// ErrBroken wraps the error of every call that the channel's end failed:
// the plugin's process exited, closed its end, stopped reading, or broke
// the protocol. Such a call was not answered.
var ErrBroken = errors.New("plugin channel broken")

// RemoteError is a plugin's error frame: the call failed in the plugin.
type RemoteError struct {
	Code    pluginv2.Code
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// cancelWriteTimeout bounds the write of a cancel frame, which nobody
// waits for: a plugin that does not take a frame for this long has
// stopped reading.
const cancelWriteTimeout = 5 * time.Second

// Client is the host's end of a channel: it sends calls and matches
// answers to them. It is safe for concurrent use.
//
// There is no reader goroutine: a caller waiting for its answer takes the
// reader's role when no other caller holds it, reads answers (delivering
// each to its caller) until its own arrives, then hands the role on to a
// caller still waiting. A lone call thus reads its own answer, with no
// goroutine to wake in between; under load one read brings many answers.
//
// Nor is there a timer per call: the reader keeps the socket's read
// deadline at the earliest deadline of the calls in flight, and when it
// passes, answers every call whose deadline has passed with
// context.DeadlineExceeded. A caller whose context is cancelled leaves at
// once, unless it is reading: then it leaves with its answer or at its
// deadline.
type Client struct {
	conn net.Conn
	w    writer
	done chan struct{} // closed when the channel ends

	// readToken is full while a caller holds the reader's role; r
	// belongs to that caller.
	readToken chan struct{}
	r         *frame.Reader

	calls struct {
		sync.Mutex
		m    map[uint32]*pending
		next uint32
		err  error // why the channel ended
		// earliest is at or before the earliest deadline in m (zero:
		// none); answered calls do not move it, so it may be early,
		// and a read deadline at it then wakes the reader once for
		// nothing. sockDeadline is the socket's read deadline, set
		// only under this lock.
		earliest, sockDeadline time.Time
	}

	late atomic.Uint64
}

// pending is a call waiting for its answer.
type pending struct {
	method   pluginv2.Method
	resp     proto.Message
	deadline time.Time
	answer   chan error // capacity 1: the one answer never blocks its sender
}

var pendingPool = sync.Pool{New: func() any { return &pending{answer: make(chan error, 1)} }}

func putPending(p *pending) {
	p.resp = nil
	pendingPool.Put(p)
}

// NewClient starts a Client on conn, which it owns: Close closes it.
func NewClient(conn net.Conn) *Client {
	c := &Client{conn: conn, done: make(chan struct{}), readToken: make(chan struct{}, 1), r: frame.NewReader(conn, 64<<10)}
	c.w.conn = conn
	c.w.broken = c.fail
	c.calls.m = make(map[uint32]*pending)
	return c
}

// Call sends req as method m and unmarshals the answer into resp, waiting
// until deadline at most (zero: ctx's deadline, if any; the earlier of
// the two otherwise). It returns a *RemoteError when the plugin answered
// with an error, an error wrapping context.DeadlineExceeded when the
// deadline passed, ctx's error when ctx was cancelled first, and an error
// wrapping ErrBroken when the channel ended first.
func (c *Client) Call(ctx context.Context, deadline time.Time, m pluginv2.Method, req, resp proto.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	var timeout time.Duration
	if !deadline.IsZero() {
		if timeout = time.Until(deadline); timeout <= 0 {
			return context.DeadlineExceeded
		}
	}
	p := pendingPool.Get().(*pending)
	p.method, p.resp, p.deadline = m, resp, deadline

	c.calls.Lock()
	if err := c.calls.err; err != nil {
		c.calls.Unlock()
		putPending(p)
		return err
	}
	id := c.calls.next
	for c.calls.m[id] != nil { // after 2^32 calls, skip ids in use
		id++
	}
	c.calls.next = id + 1
	c.calls.m[id] = p
	busy := len(c.calls.m) > 1
	if !deadline.IsZero() && (c.calls.earliest.IsZero() || deadline.Before(c.calls.earliest)) {
		c.calls.earliest = deadline
		c.setReadDeadlineLocked()
	}
	c.calls.Unlock()

	// With other calls in flight, let the goroutines ready to run queue
	// theirs into the same write; a lone call goes out at once.
	if err := c.w.sendYield(frame.Header{ID: id, Type: frame.Call, Method: m, Timeout: timeout}, req, deadline, busy); err != nil {
		var enc *encodeError
		if !errors.As(err, &enc) {
			c.fail(fmt.Errorf("writing: %w", err))
		}
		if !c.forget(id) {
			err = <-p.answer // the channel's end answered it
		}
		putPending(p)
		return err
	}
	select {
	case err := <-p.answer:
		putPending(p)
		return err
	case c.readToken <- struct{}{}:
		answered, err := c.readFor(ctx, deadline, p)
		<-c.readToken
		if answered {
			putPending(p)
			return err
		}
	case <-ctx.Done():
	}
	if !c.forget(id) {
		// The answer came meanwhile: it is the call's answer.
		err := <-p.answer
		putPending(p)
		return err
	}
	putPending(p)
	c.w.sendLater(frame.Header{ID: id, Type: frame.Cancel, Method: m}, time.Now().Add(cancelWriteTimeout))
	return ctx.Err()
}

// setReadDeadlineLocked makes the socket's read deadline the earliest
// deadline of the calls in flight. A reader blocked in a read sees the
// change at once.
func (c *Client) setReadDeadlineLocked() {
	if c.calls.earliest.Equal(c.calls.sockDeadline) {
		return
	}
	c.calls.sockDeadline = c.calls.earliest
	_ = c.conn.SetReadDeadline(c.calls.earliest) // fails only once closed, which the read reports
}

// readFor reads answers for the caller of p, who holds the reader's role,
// delivering each to its call, until p's own answer comes (answered).
// Calls whose deadline passes meanwhile, p's included, are answered with
// it; a channel that breaks answers p too. A call without a deadline
// whose ctx is cancelled returns unanswered.
func (c *Client) readFor(ctx context.Context, deadline time.Time, p *pending) (answered bool, err error) {
	if deadline.IsZero() && ctx.Done() != nil {
		// Nothing wakes the read but the socket: have a cancellation
		// set its read deadline in the past. (With a deadline, the
		// caller leaves at its deadline or with its answer.)
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			c.calls.Lock()
			c.calls.sockDeadline = longAgo
			_ = c.conn.SetReadDeadline(longAgo)
			c.calls.Unlock()
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	for {
		select {
		case err := <-p.answer: // the previous reader, or an expiry, answered it
			return true, err
		default:
		}
		if deadline.IsZero() && ctx.Err() != nil {
			return false, nil
		}
		h, payload, err := c.r.Next() // partial frames stay in r for the next reader
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.expire(time.Now())
				continue
			}
			c.fail(fmt.Errorf("reading: %w", err))
			return true, <-p.answer
		}
		q, answer, err := c.dispatch(h, payload)
		if err != nil {
			c.fail(err)
			return true, <-p.answer
		}
		if q == p {
			return true, answer
		}
		if q != nil {
			q.answer <- answer
		}
	}
}

// longAgo is a read deadline that has passed.
var longAgo = time.Unix(1, 0)

// expire answers every call whose deadline has passed by now with
// context.DeadlineExceeded, sends the plugin a cancel frame for each, and
// moves the read deadline to the earliest deadline left.
func (c *Client) expire(now time.Time) {
	var cancels []frame.Header
	c.calls.Lock()
	c.calls.earliest = time.Time{}
	for id, p := range c.calls.m {
		switch {
		case p.deadline.IsZero():
		case !now.Before(p.deadline):
			delete(c.calls.m, id)
			p.answer <- fmt.Errorf("no answer by the deadline: %w", context.DeadlineExceeded)
			cancels = append(cancels, frame.Header{ID: id, Type: frame.Cancel, Method: p.method})
		case c.calls.earliest.IsZero() || p.deadline.Before(c.calls.earliest):
			c.calls.earliest = p.deadline
		}
	}
	c.setReadDeadlineLocked()
	c.calls.Unlock()
	for _, h := range cancels {
		c.w.sendLater(h, now.Add(cancelWriteTimeout))
	}
}

// dispatch matches an answer to its call and decodes it; q is nil for an
// answer to an abandoned call, which is counted. An error breaks the
// channel; the call it concerned has already been told.
func (c *Client) dispatch(h frame.Header, payload []byte) (q *pending, answer, broken error) {
	if h.Type != frame.Reply && h.Type != frame.Error {
		return nil, nil, fmt.Errorf("the plugin sent a %s frame", h.Type)
	}
	q = c.take(h.ID)
	if q == nil {
		c.late.Add(1)
		return nil, nil, nil
	}
	var err error
	switch {
	case h.Method != q.method:
		err = fmt.Errorf("the plugin answered call %d (%s) as %s", h.ID, q.method, h.Method)
	case h.Type == frame.Error:
		var e pluginv2.Error
		if err = frame.Unmarshal(payload, &e); err == nil {
			return q, &RemoteError{Code: e.GetCode(), Message: e.GetMessage()}, nil
		}
		err = fmt.Errorf("the plugin's error answer to %s does not parse: %v", h.Method, err)
	default:
		if err = frame.Unmarshal(payload, q.resp); err == nil {
			return q, nil, nil
		}
		err = fmt.Errorf("the plugin's answer to %s does not parse: %v", h.Method, err)
	}
	q.answer <- fmt.Errorf("%w: %v", ErrBroken, err)
	return nil, nil, err
}

// forget takes call id out of the table; false when it was no longer
// there (answered, or failed by the channel's end).
func (c *Client) forget(id uint32) bool {
	c.calls.Lock()
	defer c.calls.Unlock()
	if c.calls.m[id] == nil {
		return false
	}
	delete(c.calls.m, id)
	return true
}

// take takes call id out of the table for its answer; nil when the call
// was abandoned.
func (c *Client) take(id uint32) *pending {
	c.calls.Lock()
	defer c.calls.Unlock()
	p := c.calls.m[id]
	delete(c.calls.m, id)
	return p
}

// fail ends the channel with cause, once: every call in flight and every
// later one fails with an error wrapping ErrBroken.
func (c *Client) fail(cause error) {
	c.calls.Lock()
	if c.calls.err != nil {
		c.calls.Unlock()
		return
	}
	err := fmt.Errorf("%w: %v", ErrBroken, cause)
	c.calls.err = err
	calls := c.calls.m
	c.calls.m = map[uint32]*pending{}
	c.calls.Unlock()
	c.conn.Close()
	for _, p := range calls {
		p.answer <- err
	}
	close(c.done)
}

// Close ends the channel; calls in flight fail.
func (c *Client) Close() error {
	c.fail(errors.New("closed by the host"))
	return nil
}

// Done is closed when the channel has ended; Err then says why. An end
// is noticed by a call: a plugin that dies while no call is in flight is
// noticed by the next one.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the channel ended, or nil while it works.
func (c *Client) Err() error {
	c.calls.Lock()
	defer c.calls.Unlock()
	return c.calls.err
}

// Stats counts what the channel did.
type Stats struct {
	// Frames and Writes: frames sent and the writes that carried them;
	// more frames than writes means calls were batched.
	Frames, Writes uint64
	// Late counts answers that came after their caller had given up.
	Late uint64
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{Frames: c.w.frames.Load(), Writes: c.w.writes.Load(), Late: c.late.Load()}
}
