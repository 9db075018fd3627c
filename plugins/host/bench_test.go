package host_test

import (
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/plugins/host"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/channel"
	"github.com/gatehouse-vpn/gatehouse/plugins/internal/frame"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// The benchmarks measure calls through the host to a real plugin process
// (deadline, call slot, the channel's frames on a Unix socket pair, the
// SDK's frame loop and shim, the checks of the reply), and compare them,
// in the same run, with the floor: a raw round trip of a message of the
// same size between this process and another Go process (the test plugin
// as an echo server, started the way the host starts plugins, with the
// same GOMAXPROCS), with one write per message and nothing else.
//
//	go test -run '^$' -bench . -benchmem ./plugins/host/
//
// BenchmarkCallLatency alternates one raw round trip and one plugin call,
// one at a time, and reports the p50 of each and their ratio.
// BenchmarkCallThroughput alternates rounds of each with 64 in flight
// (the raw ones pipelined: a writer keeps 64 messages out, a reader takes
// the echoes) and reports both rates and their ratio.

const inFlight = 64

// echoPeer is the raw floor: the test plugin echoing frames on a socket
// pair.
type echoPeer struct {
	conn net.Conn
	cmd  *exec.Cmd
}

func startEcho(b *testing.B) *echoPeer {
	b.Helper()
	hostEnd, pluginEnd, err := channel.Pair()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(pluginPath)
	cmd.Env = []string{"TESTPLUGIN_ECHO=1", sdk.ChannelEnv + "=3", "GOMAXPROCS=1"}
	cmd.ExtraFiles = []*os.File{pluginEnd}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pluginEnd.Close()
	e := &echoPeer{conn: hostEnd, cmd: cmd}
	b.Cleanup(func() {
		e.conn.Close()
		e.cmd.Wait()
	})
	return e
}

// callMessage is a frame the size of the benchmarked call's request.
func callMessage(b *testing.B) []byte {
	msg, err := frame.AppendMessage(nil, frame.Header{ID: 1, Type: frame.Call, Method: pluginv2.Method_METHOD_VERIFY_PLAINTEXT, Timeout: time.Second},
		&pluginv2.VerifyPlaintextRequest{User: "alice", Secret: []byte(alicePassword)})
	if err != nil {
		b.Fatal(err)
	}
	return msg
}

func (e *echoPeer) roundTrip(b *testing.B, msg, buf []byte) {
	if _, err := e.conn.Write(msg); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(e.conn, buf[:len(msg)]); err != nil {
		b.Fatal(err)
	}
}

func p50(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

func benchSpec() host.Spec {
	return spec("bench", func(s *host.Spec) { s.MaxConcurrent = 1024 })
}

func BenchmarkCallLatency(b *testing.B) {
	_, be, _ := startOne(b, benchSpec())
	e := startEcho(b)
	msg := callMessage(b)
	buf := make([]byte, len(msg))
	pw := secret(alicePassword)
	raw := make([]time.Duration, 0, b.N)
	calls := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		e.roundTrip(b, msg, buf)
		t1 := time.Now()
		v, err := be.VerifyPlaintext(ctx, "alice", pw)
		t2 := time.Now()
		if err != nil || !v.OK {
			b.Fatalf("%+v %v", v, err)
		}
		raw, calls = append(raw, t1.Sub(t0)), append(calls, t2.Sub(t1))
	}
	r, c := p50(raw), p50(calls)
	b.ReportMetric(float64(r.Nanoseconds())/1e3, "raw-p50-µs")
	b.ReportMetric(float64(c.Nanoseconds())/1e3, "call-p50-µs")
	b.ReportMetric(float64(c)/float64(r), "call/raw")
	b.ReportMetric(float64(len(msg)), "msg-bytes")
}

func BenchmarkCallThroughput(b *testing.B) {
	_, be, _ := startOne(b, benchSpec())
	e := startEcho(b)
	msg := callMessage(b)
	pw := secret(alicePassword)
	const rounds = 4
	var rawTime, callTime time.Duration
	var rawN, callN int
	b.ReportAllocs()
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		if n == 0 {
			continue
		}
		rawTime += e.pipelined(b, msg, n)
		rawN += n
		callTime += calls(b, be, pw, n)
		callN += n
	}
	rawRate := float64(rawN) / rawTime.Seconds()
	callRate := float64(callN) / callTime.Seconds()
	b.ReportMetric(rawRate, "raw-rt/s")
	b.ReportMetric(callRate, "calls/s")
	b.ReportMetric(callRate/rawRate, "calls/raw")
}

// pipelined sends n messages with inFlight out at a time, one write each,
// and returns how long until the last echo came back.
func (e *echoPeer) pipelined(b *testing.B, msg []byte, n int) time.Duration {
	slots := make(chan struct{}, inFlight)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		buf := make([]byte, len(msg))
		for range n {
			if _, err := io.ReadFull(e.conn, buf); err != nil {
				done <- err
				return
			}
			<-slots
		}
		done <- nil
	}()
	for range n {
		slots <- struct{}{}
		if _, err := e.conn.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// calls makes n plugin calls from inFlight goroutines and returns how
// long they took.
func calls(b *testing.B, be authpolicy.Backend, pw authpolicy.Secret, n int) time.Duration {
	var wg sync.WaitGroup
	work := make(chan struct{}, n)
	for range n {
		work <- struct{}{}
	}
	close(work)
	start := time.Now()
	for range inFlight {
		wg.Go(func() {
			for range work {
				if v, err := be.VerifyPlaintext(ctx, "alice", pw); err != nil || !v.OK {
					b.Errorf("%+v %v", v, err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkFragmentsViaPlugin is one Fragments call at a time, with the
// identity the test plugin attaches (identity_in_fragments).
func BenchmarkFragmentsViaPlugin(b *testing.B) {
	_, be, _ := startOne(b, benchSpec())
	b.ReportAllocs()
	for b.Loop() {
		f, err := be.Fragments(ctx, "alice")
		if err != nil || len(f) != 1 {
			b.Fatalf("%v %v", f, err)
		}
	}
}
