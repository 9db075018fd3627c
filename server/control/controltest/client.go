// Package controltest is test support for package control and for the
// gateway built on it: Client, a scripted PPTP client (the PNS of RFC
// 2637) that speaks the control protocol over any net.Conn; Handler, a
// control.CallHandler that records what it is told; and LogRecorder, a
// slog.Handler that keeps records for assertions.
//
// It is test support only: nothing outside _test.go files imports it.
package controltest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// Timeout is how long the Client's helpers wait for the server.
var Timeout = 5 * time.Second

// ErrTimeout is what Next returns when no message came in time.
var ErrTimeout = errors.New("controltest: no control message in time")

// Client is the client end of a control connection. One goroutine reads
// the server's messages into a queue that Next takes from; it answers
// Echo-Requests itself when AnswerEcho is on.
type Client struct {
	conn net.Conn

	answerEcho atomic.Bool
	echoes     atomic.Int64 // Echo-Requests answered

	wmu  sync.Mutex // serialises writes: Send and the echo answers
	in   chan result
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

type result struct {
	m   pptp.Message
	err error
}

// Dial connects to a control server at addr ("127.0.0.1:1723").
func Dial(addr string) (*Client, error) {
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		return nil, fmt.Errorf("controltest: dial %s: %w", addr, err)
	}
	return NewClient(nc), nil
}

// NewClient starts a Client on conn.
func NewClient(conn net.Conn) *Client {
	c := &Client{conn: conn, in: make(chan result, 64), done: make(chan struct{})}
	c.wg.Add(1)
	go c.routineRead()
	return c
}

// Conn returns the client's connection, for raw writes and addresses.
func (c *Client) Conn() net.Conn { return c.conn }

// AnswerEcho turns on or off answering the server's Echo-Requests
// without showing them to Next.
func (c *Client) AnswerEcho(on bool) { c.answerEcho.Store(on) }

// EchoesAnswered returns how many Echo-Requests AnswerEcho answered.
func (c *Client) EchoesAnswered() int { return int(c.echoes.Load()) }

func (c *Client) routineRead() {
	defer c.wg.Done()
	defer close(c.in) // Next then says io.EOF
	r := pptp.NewReader(c.conn)
	for {
		m, err := r.ReadMessage()
		if e, ok := m.(*pptp.EchoRequest); ok && c.answerEcho.Load() {
			if c.Send(&pptp.EchoReply{Identifier: e.Identifier, ResultCode: pptp.EchoOK}) == nil {
				c.echoes.Add(1)
			}
			continue
		}
		select {
		case c.in <- result{m, err}:
		case <-c.done:
			return
		}
		if err != nil {
			return
		}
	}
}

// Send writes m.
func (c *Client) Send(m pptp.Message) error { return c.SendRaw(pptp.Append(nil, m)) }

// SendRaw writes b as it is: half a message, garbage, several messages.
func (c *Client) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(Timeout))
	_, err := c.conn.Write(b)
	return err
}

// Next returns the next message from the server; io.EOF once the server
// closed the connection, ErrTimeout when nothing came within timeout.
func (c *Client) Next(timeout time.Duration) (pptp.Message, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return r.m, r.err
	case <-t.C:
		return nil, ErrTimeout
	}
}

// Expect returns the next message if it is an M.
func Expect[M pptp.Message](c *Client, timeout time.Duration) (M, error) {
	var zero M
	m, err := c.Next(timeout)
	if err != nil {
		return zero, fmt.Errorf("waiting for %T: %w", zero, err)
	}
	got, ok := m.(M)
	if !ok {
		return zero, fmt.Errorf("got %v, want %T", m.ControlMessageType(), zero)
	}
	return got, nil
}

// Closed waits until the server closes the connection. It fails if a
// message comes first, or nothing within timeout.
func (c *Client) Closed(timeout time.Duration) error {
	m, err := c.Next(timeout)
	switch {
	case err == nil:
		return fmt.Errorf("got %v, want the connection closed", m.ControlMessageType())
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		return nil
	case errors.Is(err, ErrTimeout):
		return fmt.Errorf("the server did not close the connection within %v", timeout)
	}
	// A reset is a close, too.
	var ne *net.OpError
	if errors.As(err, &ne) {
		return nil
	}
	return err
}

// Start sends a Start-Control-Connection-Request of version 1.0, as
// Linux's pptp does, and returns the reply.
func (c *Client) Start() (*pptp.StartControlConnectionReply, error) {
	return c.StartVersion(pptp.ProtocolVersion)
}

// StartVersion is Start with another Protocol Version.
func (c *Client) StartVersion(v uint16) (*pptp.StartControlConnectionReply, error) {
	err := c.Send(&pptp.StartControlConnectionRequest{
		ProtocolVersion:     v,
		FramingCapabilities: pptp.FramingAsynchronous,
		BearerCapabilities:  pptp.BearerAnalog,
		FirmwareRevision:    1,
		HostName:            "local",
		VendorString:        "controltest",
	})
	if err != nil {
		return nil, err
	}
	return Expect[*pptp.StartControlConnectionReply](c, Timeout)
}

// Call sends an Outgoing-Call-Request with callID as the client's Call
// ID, as Linux's pptp fills it, and returns the reply.
func (c *Client) Call(callID uint16) (*pptp.OutgoingCallReply, error) {
	err := c.Send(&pptp.OutgoingCallRequest{
		CallID:               callID,
		CallSerialNumber:     callID,
		MinimumBPS:           2400,
		MaximumBPS:           10_000_000,
		BearerType:           pptp.BearerAnalog | pptp.BearerDigital,
		FramingType:          pptp.FramingAsynchronous | pptp.FramingSynchronous,
		PacketRecvWindowSize: 10,
	})
	if err != nil {
		return nil, err
	}
	return Expect[*pptp.OutgoingCallReply](c, Timeout)
}

// Clear sends a Call-Clear-Request for the client's callID and returns
// the Call-Disconnect-Notify.
func (c *Client) Clear(callID uint16) (*pptp.CallDisconnectNotify, error) {
	if err := c.Send(&pptp.CallClearRequest{CallID: callID}); err != nil {
		return nil, err
	}
	return Expect[*pptp.CallDisconnectNotify](c, Timeout)
}

// Stop sends a Stop-Control-Connection-Request and returns the reply.
func (c *Client) Stop() (*pptp.StopControlConnectionReply, error) {
	if err := c.Send(&pptp.StopControlConnectionRequest{Reason: pptp.StopNone}); err != nil {
		return nil, err
	}
	return Expect[*pptp.StopControlConnectionReply](c, Timeout)
}

// Close closes the connection and waits for the reading goroutine.
func (c *Client) Close() error {
	var err error
	c.once.Do(func() {
		err = c.conn.Close()
		close(c.done)
		c.wg.Wait()
	})
	return err
}
