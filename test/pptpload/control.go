package pptpload

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// Control is the client end (the PNS of RFC 2637) of one control
// connection carrying many calls. One goroutine reads the server's
// messages: it answers Echo-Requests, hands each Outgoing-Call-Reply to
// the call waiting for it, and fails a session on its
// Call-Disconnect-Notify.
type Control struct {
	conn net.Conn
	wmu  sync.Mutex // serialises writes

	mu struct {
		sync.Mutex
		started chan *pptp.StartControlConnectionReply
		pending map[uint16]chan *pptp.OutgoingCallReply // by the client's Call ID
		calls   map[uint16]*Session                     // by the server's Call ID
		closed  bool
		stopped bool // the server sent Stop-Control-Connection-Request
	}
	wg sync.WaitGroup

	// EchoesAnswered counts the server's Echo-Requests (the control
	// connection's keep-alive) answered.
	EchoesAnswered atomic.Uint64
}

// DialControl connects from local to server's control port and starts
// the control connection.
func DialControl(ctx context.Context, local netip.Addr, server netip.AddrPort, timeout time.Duration) (*Control, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local.AsSlice()}, Timeout: timeout}
	nc, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		return nil, &SetupError{Reason: ReasonConnect, Err: err}
	}
	c := &Control{conn: nc}
	c.mu.started = make(chan *pptp.StartControlConnectionReply, 1)
	c.mu.pending = map[uint16]chan *pptp.OutgoingCallReply{}
	c.mu.calls = map[uint16]*Session{}
	c.wg.Add(1)
	go c.RoutineRead()
	err = c.send(&pptp.StartControlConnectionRequest{
		ProtocolVersion:     pptp.ProtocolVersion,
		FramingCapabilities: pptp.FramingAsynchronous,
		BearerCapabilities:  pptp.BearerAnalog,
		FirmwareRevision:    1,
		HostName:            "local",
		VendorString:        "gatehouse-load",
	})
	if err == nil {
		select {
		case r, ok := <-c.mu.started:
			switch {
			case !ok:
				err = errors.New("control connection closed")
			case r.ResultCode != pptp.StartSuccess:
				err = fmt.Errorf("Start-Control-Connection-Reply result %v", r.ResultCode)
			}
		case <-time.After(timeout):
			err = errors.New("no Start-Control-Connection-Reply in time")
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		c.Close()
		return nil, &SetupError{Reason: ReasonStartControl, Err: err}
	}
	return c, nil
}

// SetupError is a failed set-up step: Reason is one of the Reason
// constants, which the report counts.
type SetupError struct {
	Reason string
	Err    error
}

func (e *SetupError) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

func (c *Control) send(m pptp.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.conn.Write(pptp.Append(nil, m))
	return err
}

// RoutineRead reads the server's messages until the connection closes;
// then every call of the connection fails.
func (c *Control) RoutineRead() {
	defer c.wg.Done()
	r := pptp.NewReader(c.conn)
	for {
		m, err := r.ReadMessage()
		if err != nil {
			c.mu.Lock()
			c.mu.closed = true
			close(c.mu.started)
			for id, ch := range c.mu.pending {
				close(ch)
				delete(c.mu.pending, id)
			}
			reason := ReasonDisconnected
			if c.mu.stopped {
				reason = ReasonStopControl
			}
			for _, s := range c.mu.calls {
				s.fail(reason)
			}
			c.mu.Unlock()
			return
		}
		switch m := m.(type) {
		case *pptp.EchoRequest:
			go func() {
				if c.send(&pptp.EchoReply{Identifier: m.Identifier, ResultCode: pptp.EchoOK}) == nil {
					c.EchoesAnswered.Add(1)
				}
			}()
		case *pptp.StartControlConnectionReply:
			select {
			case c.mu.started <- m:
			default:
			}
		case *pptp.OutgoingCallReply:
			c.mu.Lock()
			if ch, ok := c.mu.pending[m.PeerCallID]; ok {
				delete(c.mu.pending, m.PeerCallID)
				ch <- m
			}
			c.mu.Unlock()
		case *pptp.CallDisconnectNotify:
			c.mu.Lock()
			if s, ok := c.mu.calls[m.CallID]; ok {
				s.fail(ReasonDisconnected)
				delete(c.mu.calls, m.CallID)
			}
			c.mu.Unlock()
		case *pptp.StopControlConnectionRequest:
			c.mu.Lock()
			c.mu.stopped = true
			c.mu.Unlock()
			_ = c.send(&pptp.StopControlConnectionReply{ResultCode: pptp.StopOK})
		}
	}
}

// Call sets up one outgoing call for s (registered on its source's GRE
// socket) and starts its PPP.
func (c *Control) Call(ctx context.Context, s *Session, timeout time.Duration) error {
	ch := make(chan *pptp.OutgoingCallReply, 1)
	c.mu.Lock()
	if c.mu.closed {
		reason := ReasonDisconnected
		if c.mu.stopped {
			reason = ReasonStopControl
		}
		c.mu.Unlock()
		return &SetupError{Reason: reason, Err: errors.New("control connection closed")}
	}
	c.mu.pending[s.CallID] = ch
	c.mu.Unlock()
	err := c.send(&pptp.OutgoingCallRequest{
		CallID:               s.CallID,
		CallSerialNumber:     s.CallID,
		MinimumBPS:           2400,
		MaximumBPS:           10_000_000,
		BearerType:           pptp.BearerAnalog | pptp.BearerDigital,
		FramingType:          pptp.FramingAsynchronous | pptp.FramingSynchronous,
		PacketRecvWindowSize: 64,
	})
	if err != nil {
		return &SetupError{Reason: ReasonDisconnected, Err: err}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			return &SetupError{Reason: c.closedReason(), Err: errors.New("control connection closed")}
		}
		if r.ResultCode != pptp.OutgoingConnected {
			return &SetupError{Reason: RefusedReason(r), Err: fmt.Errorf("Outgoing-Call-Reply result %v error %v", r.ResultCode, r.ErrorCode)}
		}
		c.mu.Lock()
		c.mu.calls[r.CallID] = s
		c.mu.Unlock()
		s.Start(r.CallID)
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	delete(c.mu.pending, s.CallID)
	c.mu.Unlock()
	return &SetupError{Reason: ReasonCallTimeout, Err: errors.New("no Outgoing-Call-Reply in time")}
}

// Close closes the connection (the server then clears its calls) and
// waits for the reader.
func (c *Control) Close() {
	_ = c.conn.Close()
	c.wg.Wait()
}

// closedReason is the reason of a call whose control connection closed:
// stop-control if the server said Stop-Control-Connection-Request first.
func (c *Control) closedReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.stopped {
		return ReasonStopControl
	}
	return ReasonDisconnected
}

// RefusedReason is the failure reason of a call the server refused:
// "call-refused: " and the Outgoing-Call-Reply's Result Code, with its
// Error Code after a General Error ("call-refused: General Error,
// No-Resource"; "call-refused: Do Not Accept").
func RefusedReason(r *pptp.OutgoingCallReply) string {
	if r.ResultCode == pptp.OutgoingGeneralError {
		return fmt.Sprintf("%s: %v, %v", ReasonCallRefused, r.ResultCode, r.ErrorCode)
	}
	return fmt.Sprintf("%s: %v", ReasonCallRefused, r.ResultCode)
}
