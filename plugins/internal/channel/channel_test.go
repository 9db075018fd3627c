package channel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// socketPair returns both ends of a connected Unix stream socket pair, as
// the host hands one to a plugin.
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := net.FileConn(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// handler answers VerifyPlaintext: "ok" accepts, "slow" waits for its
// context, "fail" errors, "remote" errors with a code; it records the
// contexts it saw end.
type handler struct {
	ended   chan string // users whose call's context ended
	running atomic.Int64
}

func newHandler() *handler { return &handler{ended: make(chan string, 100)} }

func (h *handler) NewRequest(m pluginv2.Method) proto.Message {
	if m == pluginv2.Method_METHOD_VERIFY_PLAINTEXT {
		return &pluginv2.VerifyPlaintextRequest{}
	}
	return nil
}

func (h *handler) Serve(ctx context.Context, m pluginv2.Method, req proto.Message) (proto.Message, error) {
	h.running.Add(1)
	defer h.running.Add(-1)
	r := req.(*pluginv2.VerifyPlaintextRequest)
	switch r.GetUser() {
	case "slow":
		<-ctx.Done()
		h.ended <- r.GetUser()
		return nil, ctx.Err()
	case "fail":
		return nil, errors.New("directory down")
	case "remote":
		return nil, &RemoteError{Code: pluginv2.Code_CODE_FAILED_PRECONDITION, Message: "inconsistent"}
	}
	return &pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Ok: string(r.GetSecret()) == "pw", Reason: r.GetUser()}}, nil
}

// start serves a newHandler on one end of a pair and returns a Client on
// the other.
func start(t testing.TB) (*Client, *handler, chan error) {
	t.Helper()
	a, b := socketPair(t)
	h := newHandler()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, b, h) }()
	c := NewClient(a)
	t.Cleanup(func() { c.Close(); cancel(); <-served })
	return c, h, served
}

func verify(ctx context.Context, c *Client, user, secret string) (*pluginv2.VerifyPlaintextResponse, error) {
	var resp pluginv2.VerifyPlaintextResponse
	err := c.Call(ctx, time.Time{}, pluginv2.Method_METHOD_VERIFY_PLAINTEXT, &pluginv2.VerifyPlaintextRequest{User: user, Secret: []byte(secret)}, &resp)
	return &resp, err
}

func TestCallsAndAnswers(t *testing.T) {
	c, _, _ := start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			user := fmt.Sprintf("user%d", i)
			secret := "pw"
			if i%3 == 0 {
				secret = "wrong"
			}
			r, err := verify(ctx, c, user, secret)
			if err != nil || r.GetVerdict().GetOk() != (i%3 != 0) || r.GetVerdict().GetReason() != user {
				t.Errorf("call %d: %v %v", i, r, err)
			}
		})
	}
	wg.Wait()

	_, err := verify(ctx, c, "fail", "pw")
	var re *RemoteError
	if !errors.As(err, &re) || re.Code != pluginv2.Code_CODE_UNKNOWN || !strings.Contains(re.Message, "directory down") {
		t.Errorf("a handler's error: %v", err)
	}
	_, err = verify(ctx, c, "remote", "pw")
	if !errors.As(err, &re) || re.Code != pluginv2.Code_CODE_FAILED_PRECONDITION {
		t.Errorf("a handler's RemoteError: %v", err)
	}
	err = c.Call(ctx, time.Time{}, pluginv2.Method_METHOD_LOOKUP, &pluginv2.LookupRequest{User: "x"}, &pluginv2.LookupResponse{})
	if !errors.As(err, &re) || re.Code != pluginv2.Code_CODE_UNIMPLEMENTED {
		t.Errorf("an unknown method: %v", err)
	}
}

// TestSlowCallDelaysNoOther: a call that never finishes does not hold up
// the others; when its caller's deadline passes it is answered with the
// deadline at once, and the plugin's context for it ends.
func TestSlowCallDelaysNoOther(t *testing.T) {
	c, h, _ := start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	slow := make(chan error, 1)
	go func() {
		_, err := verify(ctx, c, "slow", "pw")
		slow <- err
	}()
	for h.running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := range 50 {
		if r, err := verify(context.Background(), c, "fast", "pw"); err != nil || !r.GetVerdict().GetOk() {
			t.Fatalf("call %d beside the slow one: %v %v", i, r, err)
		}
	}
	select {
	case err := <-slow:
		t.Fatalf("the slow call returned before its deadline: %v", err)
	default:
	}
	err := <-slow
	if !errors.Is(err, context.DeadlineExceeded) || time.Until(mustDeadline(ctx)) < -100*time.Millisecond {
		t.Fatalf("slow call: %v, %v after its deadline", err, -time.Until(mustDeadline(ctx)))
	}
	select {
	case u := <-h.ended:
		if u != "slow" {
			t.Fatalf("ended %s", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the plugin's context for the abandoned call did not end")
	}
}

func mustDeadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// TestCancelReachesPlugin: a caller that cancels (no deadline) is
// answered at once, and the cancel frame ends the plugin's context.
func TestCancelReachesPlugin(t *testing.T) {
	c, h, _ := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := verify(ctx, c, "slow", "pw")
		done <- err
	}()
	for h.running.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	select {
	case <-h.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the cancel frame did not end the plugin's context")
	}
	if r, err := verify(context.Background(), c, "a", "pw"); err != nil || !r.GetVerdict().GetOk() {
		t.Fatalf("after a cancel: %v %v", r, err)
	}
}

func TestPingWhileCallsHang(t *testing.T) {
	c, h, _ := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 5 {
		go verify(ctx, c, "slow", "pw")
	}
	for h.running.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer pcancel()
	if err := c.Call(pctx, time.Time{}, pluginv2.Method_METHOD_PING, &pluginv2.PingRequest{}, &pluginv2.PingResponse{}); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

// peer is a hand-driven plugin end: it reads the host's frames and writes
// whatever the test says.
func peer(t *testing.T) (*Client, net.Conn, *frame.Reader) {
	a, b := socketPair(t)
	c := NewClient(a)
	t.Cleanup(func() { c.Close() })
	return c, b, frame.NewReader(b, 1024)
}

// TestBrokenChannelFailsEveryCall: whatever ends the channel, every call
// in flight fails with ErrBroken, and so does every later call, at once.
func TestBrokenChannelFailsEveryCall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, conn net.Conn, calls []frame.Header)
	}{
		{"peer closes", func(t *testing.T, conn net.Conn, _ []frame.Header) { conn.Close() }},
		{"garbage", func(t *testing.T, conn net.Conn, _ []frame.Header) {
			conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		}},
		{"cut frame", func(t *testing.T, conn net.Conn, calls []frame.Header) {
			b, _ := frame.AppendMessage(nil, frame.Header{ID: calls[0].ID, Type: frame.Reply, Method: calls[0].Method},
				&pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Ok: true}})
			conn.Write(b[:len(b)-2])
			conn.Close()
		}},
		{"answer of another method", func(t *testing.T, conn net.Conn, calls []frame.Header) {
			b, _ := frame.AppendMessage(nil, frame.Header{ID: calls[0].ID, Type: frame.Reply, Method: pluginv2.Method_METHOD_LOOKUP},
				&pluginv2.LookupResponse{Found: true})
			conn.Write(b)
		}},
		{"a call frame from the plugin", func(t *testing.T, conn net.Conn, calls []frame.Header) {
			conn.Write(frame.Header{ID: calls[0].ID, Type: frame.Call, Method: calls[0].Method}.Append(nil))
		}},
		{"reply that does not parse", func(t *testing.T, conn net.Conn, calls []frame.Header) {
			conn.Write(append(frame.Header{ID: calls[0].ID, Type: frame.Reply, Method: calls[0].Method, Length: 3}.Append(nil), 0xff, 0xff, 0xff))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, conn, r := peer(t)
			const n = 4
			errs := make(chan error, n)
			for range n {
				go func() {
					r, err := verify(context.Background(), c, "u", "pw")
					if err == nil && r.GetVerdict().GetOk() {
						err = errors.New("accepted")
					}
					errs <- err
				}()
			}
			var calls []frame.Header
			for range n {
				h, _, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				calls = append(calls, h)
			}
			tc.break_(t, conn, calls)
			for range n {
				select {
				case err := <-errs:
					if !errors.Is(err, ErrBroken) {
						t.Errorf("a call in flight: %v, want ErrBroken", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("a call in flight was not failed")
				}
			}
			<-c.Done()
			start := time.Now()
			if _, err := verify(context.Background(), c, "u", "pw"); !errors.Is(err, ErrBroken) || time.Since(start) > time.Second {
				t.Errorf("a later call: %v after %v", err, time.Since(start))
			}
		})
	}
}

// TestLateAnswerDropped: an answer to an abandoned call is counted and
// dropped; the channel goes on.
func TestLateAnswerDropped(t *testing.T) {
	c, conn, r := peer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := verify(ctx, c, "u", "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered call: %v", err)
	}
	call, _, _ := r.Next()
	if call.Type != frame.Call || call.Timeout <= 0 || call.Timeout > 50*time.Millisecond {
		t.Fatalf("call frame %+v", call)
	}
	cf, _, _ := r.Next()
	if cf.Type != frame.Cancel || cf.ID != call.ID {
		t.Fatalf("after the deadline the host sent %+v, want a cancel of %d", cf, call.ID)
	}
	b, _ := frame.AppendMessage(nil, frame.Header{ID: call.ID, Type: frame.Reply, Method: call.Method},
		&pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Ok: true}})
	conn.Write(b)
	// The next call is answered normally.
	done := make(chan error, 1)
	go func() {
		r, err := verify(context.Background(), c, "u", "pw")
		if err == nil && !r.GetVerdict().GetOk() {
			err = errors.New("rejected")
		}
		done <- err
	}()
	next, _, _ := r.Next()
	b, _ = frame.AppendMessage(nil, frame.Header{ID: next.ID, Type: frame.Reply, Method: next.Method},
		&pluginv2.VerifyPlaintextResponse{Verdict: &pluginv2.Verdict{Ok: true}})
	conn.Write(b)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Late != 1 {
		t.Errorf("late answers %d, want 1", s.Late)
	}
}

// TestStalledPeerBreaksChannel: a plugin that stops reading (SIGSTOP)
// fills the socket; a write that cannot finish by the caller's deadline
// returns then, and breaks the channel.
func TestStalledPeerBreaksChannel(t *testing.T) {
	a, _ := socketPair(t)
	if err := a.(*net.UnixConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	c := NewClient(a)
	defer c.Close()
	big := strings.Repeat("x", 60000)
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		start := time.Now()
		_, err = verify(ctx, c, "u", big)
		cancel()
		if took := time.Since(start); took > time.Second {
			t.Fatalf("a call took %v, past its 100ms deadline", took)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = nil // queued, unanswered: the socket still had room
		}
	}
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("after filling the socket: %v, want ErrBroken", err)
	}
}

// blockingConn holds its first Write until release is closed.
type blockingConn struct {
	net.Conn
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	writes  [][]byte
	mu      sync.Mutex
}

func (b *blockingConn) Write(p []byte) (int, error) {
	b.once.Do(func() {
		close(b.entered)
		<-b.release
	})
	b.mu.Lock()
	b.writes = append(b.writes, append([]byte(nil), p...))
	b.mu.Unlock()
	return len(p), nil
}

// TestBatching: frames queued while a write is in progress travel
// together in the next write.
func TestBatching(t *testing.T) {
	a, _ := socketPair(t)
	bc := &blockingConn{Conn: a, entered: make(chan struct{}), release: make(chan struct{})}
	w := &writer{conn: bc}
	req := &pluginv2.FragmentsRequest{User: "alice"}
	first := make(chan error, 1)
	go func() {
		first <- w.send(frame.Header{ID: 0, Method: pluginv2.Method_METHOD_FRAGMENTS}, req, time.Time{})
	}()
	<-bc.entered
	for i := 1; i <= 10; i++ {
		if err := w.send(frame.Header{ID: uint32(i), Method: pluginv2.Method_METHOD_FRAGMENTS}, req, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	close(bc.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if len(bc.writes) != 2 {
		t.Fatalf("%d writes, want 2 (one frame, then the ten queued meanwhile)", len(bc.writes))
	}
	r := frame.NewReader(strings.NewReader(string(bc.writes[1])), 64)
	for i := 1; i <= 10; i++ {
		h, _, err := r.Next()
		if err != nil || h.ID != uint32(i) {
			t.Fatalf("frame %d of the batch: %+v %v", i, h, err)
		}
	}
	if s := (w.frames.Load()); s != 11 || w.writes.Load() != 2 {
		t.Fatalf("counted %d frames in %d writes", s, w.writes.Load())
	}
}
