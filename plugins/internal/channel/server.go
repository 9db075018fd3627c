package channel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// Handler serves a plugin's calls.
type Handler interface {
	// NewRequest returns an empty request message for m, or nil when the
	// handler does not know m (answered UNIMPLEMENTED).
	NewRequest(m pluginv2.Method) proto.Message
	// Serve answers one call. ctx ends at the host's deadline for the
	// call, when the host cancels it, or when the channel ends. A
	// *RemoteError is sent as it is; any other error as CODE_UNKNOWN.
	Serve(ctx context.Context, m pluginv2.Method, req proto.Message) (proto.Message, error)
}

// Serve answers the calls that arrive on conn with h until the channel
// ends, and returns why (nil when the host closed it, or ctx ended). A
// ping is answered at once. When Serve returns, the contexts of the calls
// still running have ended; Serve does not wait for them.
//
// A call that arrives alone is served by the goroutine that read it, so
// that a fast call costs no goroutine to wake; should it take longer than
// inlineBudget, another goroutine takes over reading, so that a slow call
// never holds up the next one. Calls that arrive together are handed to
// worker goroutines, each serving one call at a time; up to
// maxIdleWorkers of them wait for the next, keeping the stacks their
// calls grew.
func Serve(ctx context.Context, conn net.Conn, h Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	s := &server{h: h, base: ctx, r: frame.NewReader(conn, 64<<10), ended: make(chan error, 1), work: make(chan *call)}
	s.w.conn = conn
	s.w.yield = true
	s.calls.m = make(map[uint32]*call)
	go s.RoutineReceive()
	err := <-s.ended
	if ctx.Err() != nil || errors.Is(err, io.EOF) {
		return nil // closed on our side, or by the host
	}
	return err
}

// inlineBudget is how long the reading goroutine serves a call itself
// before another goroutine takes over reading.
const inlineBudget = 50 * time.Microsecond

type server struct {
	h     Handler
	base  context.Context
	w     writer
	r     *frame.Reader // the reading goroutine's
	ended chan error    // the channel's end, sent once by the reading goroutine

	work chan *call   // to an idle worker
	idle atomic.Int32 // workers waiting on work

	calls struct {
		sync.Mutex
		m map[uint32]*call
	}
}

// call is a call being served.
type call struct {
	h      frame.Header
	req    proto.Message
	ctx    context.Context
	cancel context.CancelFunc
}

// RoutineReceive reads frames, answers pings, starts calls, and serves a
// lone call itself (see Serve). It runs in one goroutine at a time: when
// it hands reading over, it returns once its call is answered. The one
// that sees the channel end reports it on s.ended.
func (s *server) RoutineReceive() {
	for {
		c, err := s.next()
		if err != nil {
			s.ended <- err
			return
		}
		if c == nil {
			continue
		}
		if s.r.Buffered() > 0 {
			s.start(c) // more frames are waiting: serve them side by side
			continue
		}
		handOver := time.AfterFunc(inlineBudget, s.RoutineReceive)
		s.run(c)
		if !handOver.Stop() {
			return // another goroutine reads now
		}
	}
}

// next reads the next frame and returns the call it starts; nil when the
// frame needed no goroutine (a ping, a cancel, a call answered with an
// error at once). An error ends the channel; io.EOF is the host closing
// its end.
func (s *server) next() (*call, error) {
	h, payload, err := s.r.Next()
	switch {
	case errors.Is(err, io.EOF):
		return nil, err // the host closed its end
	case err != nil:
		return nil, fmt.Errorf("reading: %w", err)
	}
	switch h.Type {
	case frame.Cancel:
		s.cancel(h.ID)
		return nil, nil
	case frame.Call:
	default:
		return nil, fmt.Errorf("the host sent a %s frame", h.Type)
	}
	if h.Method == pluginv2.Method_METHOD_PING {
		return nil, s.answer(h, &pluginv2.PingResponse{}, nil)
	}
	req := s.h.NewRequest(h.Method)
	if req == nil {
		return nil, s.answer(h, nil, &RemoteError{Code: pluginv2.Code_CODE_UNIMPLEMENTED,
			Message: fmt.Sprintf("this plugin does not know method %s", h.Method)})
	}
	if err := frame.Unmarshal(payload, req); err != nil {
		return nil, s.answer(h, nil, &RemoteError{Code: pluginv2.Code_CODE_INVALID_ARGUMENT,
			Message: fmt.Sprintf("%s: the request does not parse: %v", h.Method, err)})
	}
	c := &call{h: h, req: req}
	if h.Timeout > 0 {
		c.ctx, c.cancel = context.WithTimeout(s.base, h.Timeout)
	} else {
		c.ctx, c.cancel = context.WithCancel(s.base)
	}
	s.calls.Lock()
	if old := s.calls.m[h.ID]; old != nil {
		old.cancel() // the host reused the id of a call it abandoned
	}
	s.calls.m[h.ID] = c
	s.calls.Unlock()
	return c, nil
}

// start hands c to an idle worker, or to a new one.
func (s *server) start(c *call) {
	select {
	case s.work <- c:
	default:
		go s.RoutineWork(c)
	}
}

// maxIdleWorkers bounds the workers kept waiting for calls; a worker
// keeps the stack its calls grew, so the next call does not grow one.
const maxIdleWorkers = 32

// RoutineWork serves c, then every call start hands it, until enough
// other workers wait.
func (s *server) RoutineWork(c *call) {
	for {
		s.run(c)
		if s.idle.Add(1) > maxIdleWorkers {
			s.idle.Add(-1)
			return
		}
		select {
		case c = <-s.work:
			s.idle.Add(-1)
		case <-s.base.Done():
			s.idle.Add(-1)
			return
		}
	}
}

// run serves one call and sends its answer.
func (s *server) run(c *call) {
	resp, err := s.h.Serve(c.ctx, c.h.Method, c.req)
	s.calls.Lock()
	if s.calls.m[c.h.ID] == c {
		delete(s.calls.m, c.h.ID)
	}
	s.calls.Unlock()
	if c.ctx.Err() != nil {
		// The host gave up on the call (its deadline passed, or it
		// cancelled): nobody waits for the answer.
		c.cancel()
		return
	}
	c.cancel()
	_ = s.answer(c.h, resp, err) // a write error ends the channel: RoutineReceive sees it
}

// cancel ends the context of call id, if it still runs.
func (s *server) cancel(id uint32) {
	s.calls.Lock()
	c := s.calls.m[id]
	delete(s.calls.m, id)
	s.calls.Unlock()
	if c != nil {
		c.cancel()
	}
}

// answer sends the reply resp, or the error err, to call h.
func (s *server) answer(h frame.Header, resp proto.Message, err error) error {
	out := frame.Header{ID: h.ID, Method: h.Method, Type: frame.Reply}
	var m proto.Message = resp
	if err != nil {
		var re *RemoteError
		if !errors.As(err, &re) {
			re = &RemoteError{Code: pluginv2.Code_CODE_UNKNOWN, Message: err.Error()}
		}
		out.Type = frame.Error
		m = &pluginv2.Error{Code: re.Code, Message: re.Message}
	}
	err = s.w.send(out, m, time.Time{})
	var enc *encodeError
	if errors.As(err, &enc) {
		// Too large to send: tell the host so, rather than nothing.
		return s.w.send(frame.Header{ID: h.ID, Method: h.Method, Type: frame.Error},
			&pluginv2.Error{Code: pluginv2.Code_CODE_INTERNAL, Message: fmt.Sprintf("%s: the answer cannot be sent: %v", h.Method, enc.err)}, time.Time{})
	}
	return err
}
