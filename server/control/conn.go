package control

// One control connection, end to end:
//
//  1. Server.Serve accepts the TCP connection and startConn starts its
//     two goroutines.
//  2. RoutineReadFromTCP cuts the byte stream into messages with a
//     pptp.Reader (bounded buffer, header checked after ten octets) and
//     hands each, or the error that ends the stream, to RoutineControl.
//  3. RoutineControl owns every piece of the connection's state: the
//     connState, the calls, the timers. It takes, one at a time, a
//     message (receive), a request from another goroutine
//     (serveRequests: Call.Disconnect, Call.WANErrorNotify, Server.Close)
//     or a timer (timeout), and writes the replies itself.
//  4. When the state reaches Closed, RoutineControl closes the socket,
//     which ends RoutineReadFromTCP, ends the calls left, and returns.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// writeTimeout bounds one write to the client. A client whose TCP window
// stays shut that long is gone.
const writeTimeout = 10 * time.Second

// conn is one control connection.
type conn struct {
	s      *Server
	nc     net.Conn
	log    *slog.Logger // carries the client attribute
	remote netip.AddrPort
	local  netip.Addr

	// incoming carries what RoutineReadFromTCP read; done is closed when
	// RoutineControl returns, so RoutineReadFromTCP never blocks on
	// incoming after that.
	incoming chan received
	done     chan struct{}

	// requests from other goroutines; wake tells RoutineControl there
	// are some. Posting never blocks, so a CallHandler may post from
	// inside its callbacks.
	requests struct {
		sync.Mutex
		queue  []request
		closed bool
	}
	wake chan struct{}

	// Owned by RoutineControl.
	state        connState
	cause        string     // why the connection closes; set once
	causeLevel   slog.Level // how loud the close is logged
	calls        map[uint16]*Call
	callsEver    int
	opened       time.Time
	lastReceived time.Time
	echoID       uint32
	echoSent     time.Time // zero when no Echo-Request is outstanding
	noCallSince  time.Time
	stopSent     time.Time
	stopCause    string
	wbuf         []byte
}

// received is one result of the reader: a message or the error that
// ended the stream.
type received struct {
	m   pptp.Message
	err error
}

type requestKind uint8

const (
	requestDisconnect requestKind = iota + 1 // Call.Disconnect
	requestHangup                            // Call.Hangup
	requestWANError                          // Call.WANErrorNotify
	requestStop                              // Server.Close
)

// request is work another goroutine asks of RoutineControl.
type request struct {
	kind   requestKind
	call   *Call
	cause  string
	errors WANErrors
}

func newConn(s *Server, nc net.Conn) *conn {
	remote := addrPort(nc.RemoteAddr())
	client := nc.RemoteAddr().String()
	if remote.IsValid() {
		client = remote.String()
	}
	now := time.Now()
	return &conn{
		s:            s,
		nc:           nc,
		log:          s.log.With(slog.String("client", client)),
		remote:       remote,
		local:        addrPort(nc.LocalAddr()).Addr(),
		incoming:     make(chan received),
		done:         make(chan struct{}),
		wake:         make(chan struct{}, 1),
		calls:        make(map[uint16]*Call),
		opened:       now,
		lastReceived: now,
		wbuf:         make([]byte, 0, pptp.MaxMessageLength),
	}
}

// RoutineReadFromTCP reads control messages and hands them to
// RoutineControl until the stream ends or fails.
func (c *conn) RoutineReadFromTCP() {
	defer c.s.wg.Done()
	c.log.Debug("routine started", slog.String("routine", "RoutineReadFromTCP"))
	defer c.log.Debug("routine stopped", slog.String("routine", "RoutineReadFromTCP"))

	r := pptp.NewReader(c.nc)
	for {
		m, err := r.ReadMessage()
		select {
		case c.incoming <- received{m, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// RoutineControl runs the connection's state machine until Closed.
func (c *conn) RoutineControl() {
	defer c.s.wg.Done()
	c.log.Debug("routine started", slog.String("routine", "RoutineControl"))
	defer c.log.Debug("routine stopped", slog.String("routine", "RoutineControl"))

	timer := time.NewTimer(time.Until(c.deadline()))
	defer timer.Stop()
	for c.state != stateClosed {
		select {
		case in := <-c.incoming:
			if in.err != nil {
				c.readFailed(in.err)
			} else {
				c.receive(in.m, time.Now())
			}
		case <-c.wake:
			c.serveRequests()
		case <-timer.C:
			c.timeout(time.Now())
		}
		if d := c.deadline(); d.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(d))
		}
	}
	c.shutdown()
}

// shutdown releases everything once the state is Closed.
func (c *conn) shutdown() {
	c.requests.Lock()
	c.requests.closed = true
	c.requests.queue = nil
	c.requests.Unlock()

	c.nc.Close()
	close(c.done)
	c.endCalls(c.cause)
	c.s.removeConn(c)

	level := c.causeLevel
	var suppressed int
	if level >= slog.LevelWarn && c.callsEver == 0 {
		// Probes and scanners: never a call, possibly thousands.
		var ok bool
		if ok, suppressed = c.s.limiter.allow(time.Now()); !ok {
			level = slog.LevelDebug
		}
	}
	c.log.LogAttrs(context.Background(), level, "control connection closed", withSuppressed(suppressed,
		slog.String("cause", c.cause),
		slog.Duration("duration", time.Since(c.opened).Round(time.Millisecond)),
		slog.Int("calls", c.callsEver))...)
}

// post queues r for RoutineControl; it never blocks. After the
// connection closed it drops r.
func (c *conn) post(r request) {
	c.requests.Lock()
	if c.requests.closed {
		c.requests.Unlock()
		return
	}
	c.requests.queue = append(c.requests.queue, r)
	c.requests.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *conn) serveRequests() {
	c.requests.Lock()
	queue := c.requests.queue
	c.requests.queue = nil
	c.requests.Unlock()
	for _, r := range queue {
		if c.state == stateClosed {
			return
		}
		switch r.kind {
		case requestDisconnect:
			c.disconnect(r.call, r.cause, time.Now())
		case requestHangup:
			now := time.Now()
			c.disconnect(r.call, r.cause, now)
			if c.state == stateEstablished && len(c.calls) == 0 {
				c.stopLocal(pptp.StopNone, r.cause, now)
			}
		case requestWANError:
			c.wanErrorNotify(r.call, r.errors)
		case requestStop:
			c.stopLocal(pptp.StopLocalShutdown, r.cause, time.Now())
		}
	}
}

// receive handles one well-formed message. Every message, whatever it
// is, shows the client is alive (RFC 2637 section 3.1.3).
func (c *conn) receive(m pptp.Message, now time.Time) {
	c.lastReceived = now
	c.echoSent = time.Time{}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("control message received",
			slog.String("type", m.ControlMessageType().String()), slog.String("state", c.state.String()))
	}
	switch c.state {
	case stateIdle:
		c.receiveIdle(m, now)
	case stateEstablished:
		c.receiveEstablished(m, now)
	case stateWaitStopReply:
		c.receiveWaitStopReply(m)
	}
}

// readFailed handles the end of the byte stream.
func (c *conn) readFailed(err error) {
	var pe *pptp.ParseError
	switch {
	case errors.As(err, &pe):
		c.s.stats.malformed.Add(1)
		c.fail(slog.LevelWarn, fmt.Sprintf(
			"malformed control message (%v): the peer does not speak PPTP, or the stream is out of step", err))
	case c.state == stateWaitStopReply:
		// The client hung up instead of replying: the stop is done all
		// the same, and its cause is still the one to report.
		c.fail(slog.LevelInfo, c.stopCause)
	case errors.Is(err, io.EOF) && c.state == stateIdle:
		c.fail(slog.LevelInfo, "the client closed the connection before sending Start-Control-Connection-Request")
	case errors.Is(err, io.EOF):
		c.fail(slog.LevelInfo, causeClientClosed)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.fail(slog.LevelWarn, "the client closed the connection in the middle of a control message")
	default:
		c.fail(slog.LevelWarn, fmt.Sprintf("cannot read from the client: %v", err))
	}
}

// deadline is when timeout must next look at the connection, or zero
// for never.
func (c *conn) deadline() time.Time {
	cfg := &c.s.cfg
	switch c.state {
	case stateIdle:
		return c.opened.Add(cfg.SetupTimeout)
	case stateEstablished:
		var d time.Time
		if cfg.EchoInterval > 0 {
			if c.echoSent.IsZero() {
				d = c.lastReceived.Add(cfg.EchoInterval)
			} else {
				d = c.echoSent.Add(cfg.EchoTimeout)
			}
		}
		if len(c.calls) == 0 {
			if n := c.noCallSince.Add(cfg.SetupTimeout); d.IsZero() || n.Before(d) {
				d = n
			}
		}
		return d
	case stateWaitStopReply:
		return c.stopSent.Add(cfg.StopTimeout)
	}
	return time.Time{}
}

// timeout runs the timers of RFC 2637 section 3.1.3 and Gatehouse's own.
func (c *conn) timeout(now time.Time) {
	cfg := &c.s.cfg
	switch c.state {
	case stateIdle:
		if !now.Before(c.opened.Add(cfg.SetupTimeout)) {
			c.fail(slog.LevelWarn, fmt.Sprintf(
				"no Start-Control-Connection-Request within %s: the peer is not a PPTP client, or it stalled",
				seconds(cfg.SetupTimeout)))
		}
	case stateEstablished:
		if cfg.EchoInterval > 0 {
			switch {
			case c.echoSent.IsZero() && !now.Before(c.lastReceived.Add(cfg.EchoInterval)):
				c.echoID++
				c.echoSent = now
				c.send(&pptp.EchoRequest{Identifier: c.echoID})
			case !c.echoSent.IsZero() && !now.Before(c.echoSent.Add(cfg.EchoTimeout)):
				c.s.stats.echoTimeouts.Add(1)
				c.fail(slog.LevelWarn, fmt.Sprintf(
					"no answer to echo within %s: the client went away or a firewall drops TCP 1723",
					seconds(cfg.EchoTimeout)))
				return
			}
		}
		if len(c.calls) == 0 && !now.Before(c.noCallSince.Add(cfg.SetupTimeout)) {
			cause := fmt.Sprintf("no Outgoing-Call-Request within %s of Start-Control-Connection-Request",
				seconds(cfg.SetupTimeout))
			if c.callsEver > 0 {
				cause = fmt.Sprintf("no call on the control connection for %s", seconds(cfg.SetupTimeout))
			}
			c.stopLocal(pptp.StopNone, cause, now)
		}
	case stateWaitStopReply:
		if !now.Before(c.stopSent.Add(cfg.StopTimeout)) {
			c.log.Debug("no Stop-Control-Connection-Reply", slog.Duration("waited", cfg.StopTimeout))
			c.fail(slog.LevelInfo, c.stopCause)
		}
	}
}

// send writes m to the client. A failed write closes the connection.
func (c *conn) send(m pptp.Message) {
	if c.state == stateClosed {
		return
	}
	c.wbuf = pptp.Append(c.wbuf[:0], m)
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.nc.Write(c.wbuf); err != nil {
		c.fail(slog.LevelWarn, fmt.Sprintf("cannot send %v to the client: %v", m.ControlMessageType(), err))
		return
	}
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		c.log.Debug("control message sent", slog.String("type", m.ControlMessageType().String()))
	}
}

// fail moves the connection to Closed; the first cause is the one
// reported.
func (c *conn) fail(level slog.Level, cause string) {
	if c.cause == "" {
		c.cause, c.causeLevel = cause, level
	}
	c.state = stateClosed
}

// seconds formats d for operators: "60s" rather than "1m0s".
func seconds(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return d.String()
}
