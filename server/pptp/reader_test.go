package pptp_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// stream returns every sample message back to back, as a peer would
// write them on the control connection.
func stream() []byte {
	var b []byte
	for _, m := range samples() {
		b = pptp.Append(b, m)
	}
	return b
}

// chunkReader hands out its data in chunks of random length, as TCP
// does.
type chunkReader struct {
	data []byte
	rnd  *rand.Rand
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(1+r.rnd.IntN(300), len(p), len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

func TestReaderSplitsStream(t *testing.T) {
	want := samples()
	readers := map[string]func() io.Reader{
		"one read":       func() io.Reader { return bytes.NewReader(stream()) },
		"octet by octet": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(stream())) },
		"half reads":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(stream())) },
		"data with EOF":  func() io.Reader { return iotest.DataErrReader(bytes.NewReader(stream())) },
		"random chunks": func() io.Reader {
			return &chunkReader{data: stream(), rnd: rand.New(rand.NewPCG(1, 2))}
		},
	}
	for name, newReader := range readers {
		t.Run(name, func(t *testing.T) {
			r := pptp.NewReader(newReader())
			for i, w := range want {
				m, err := r.ReadMessage()
				if err != nil {
					t.Fatalf("message %d (%v): %v", i, w.ControlMessageType(), err)
				}
				if !reflect.DeepEqual(m, w) {
					t.Fatalf("message %d = %+v, want %+v", i, m, w)
				}
			}
			if _, err := r.ReadMessage(); err != io.EOF {
				t.Fatalf("after the last message: %v, want io.EOF", err)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("io.EOF is not sticky: %v", err)
			}
		})
	}
}

func TestReaderEndOfStream(t *testing.T) {
	echo := echoRequest()
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, io.EOF},
		{"inside the first ten octets", echo[:5], io.ErrUnexpectedEOF},
		{"inside a message", echo[:14], io.ErrUnexpectedEOF},
		{"inside the second message", append(echoRequest(), echo[:15]...), io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := pptp.NewReader(bytes.NewReader(c.data))
			var err error
			for err == nil {
				_, err = r.Next()
			}
			if err != c.want {
				t.Errorf("Next = %v, want %v", err, c.want)
			}
		})
	}
}

// scriptedReader serves the given reads and fails the test if asked for
// more: it proves that Reader decides without waiting for octets that may
// never come.
type scriptedReader struct {
	t     *testing.T
	reads [][]byte
}

func (r *scriptedReader) Read(p []byte) (int, error) {
	if len(r.reads) == 0 {
		r.t.Fatal("Reader read past the octets it needed to decide")
	}
	n := copy(p, r.reads[0])
	r.reads = r.reads[1:]
	return n, nil
}

func TestReaderRefusesEarly(t *testing.T) {
	longLength := echoRequest()
	longLength[0], longLength[1] = 0x13, 0x88 // Length 5000
	sccrqWithLength300 := pptp.Append(nil, &pptp.StartControlConnectionRequest{})
	sccrqWithLength300[0], sccrqWithLength300[1] = 0x01, 0x2c
	cases := []struct {
		name string
		data []byte
		want pptp.ParseErrorCode
	}{
		{"HTTP request on port 1723", []byte("GET / HTTP/1.1\r\n"), pptp.ParseBadMagicCookie},
		{"TLS client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03}, pptp.ParseBadMagicCookie},
		{"length 5000", longLength, pptp.ParseBadLength},
		{"SCCRQ of length 300", sccrqWithLength300, pptp.ParseBadLength},
		{"unknown control message type", []byte{0, 16, 0, 1, 0x1a, 0x2b, 0x3c, 0x4d, 0, 99}, pptp.ParseUnknownControlMessageType},
		{"management message", []byte{0, 16, 0, 2, 0x1a, 0x2b, 0x3c, 0x4d, 0, 5}, pptp.ParseBadMessageType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Only the first ten octets are ever available.
			r := pptp.NewReader(&scriptedReader{t: t, reads: [][]byte{c.data[:4], c.data[4:10]}})
			_, err := r.Next()
			var pe *pptp.ParseError
			if !errors.As(err, &pe) || pe.Code != c.want {
				t.Fatalf("Next = %v, want a ParseError %v", err, c.want)
			}
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("error not sticky: then %v", err2)
			}
		})
	}
}

func TestReaderDeliversBeforeReadError(t *testing.T) {
	broken := errors.New("connection reset")
	data := append(echoRequest(), echoRequest()...)
	r := pptp.NewReader(io.MultiReader(bytes.NewReader(data), iotest.ErrReader(broken)))
	for i := range 2 {
		if _, err := r.ReadMessage(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := r.Next(); err != broken {
		t.Fatalf("Next = %v, want %v", err, broken)
	}
	if _, err := r.Next(); err != broken {
		t.Fatalf("read error not sticky: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderNoProgress(t *testing.T) {
	if _, err := pptp.NewReader(zeroReader{}).Next(); err != io.ErrNoProgress {
		t.Fatalf("Next = %v, want io.ErrNoProgress", err)
	}
}

func TestReaderNextSlice(t *testing.T) {
	a := pptp.Append(nil, &pptp.EchoRequest{Identifier: 1})
	b := pptp.Append(nil, &pptp.SetLinkInfo{PeerCallID: 2})
	r := pptp.NewReader(bytes.NewReader(append(append([]byte(nil), a...), b...)))
	got, err := r.Next()
	if err != nil || !bytes.Equal(got, a) {
		t.Fatalf("Next = % x, %v; want % x", got, err, a)
	}
	if cap(got) != len(got) {
		t.Errorf("cap %d > len %d: appending to the message would overwrite the next", cap(got), len(got))
	}
	got, err = r.Next()
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("Next = % x, %v; want % x", got, err, b)
	}
}

// A long-lived connection's buffer is reused: a long stream of messages
// passes through the fixed buffer many times over.
func TestReaderLongStream(t *testing.T) {
	one := stream()
	var data []byte
	for range 50 {
		data = append(data, one...)
	}
	r := pptp.NewReader(&chunkReader{data: data, rnd: rand.New(rand.NewPCG(3, 4))})
	n := 0
	for {
		_, err := r.ReadMessage()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", n, err)
		}
		n++
	}
	if want := 50 * len(samples()); n != want {
		t.Fatalf("read %d messages, want %d", n, want)
	}
}

// rewindReader serves the same octets forever.
type rewindReader struct {
	data []byte
	off  int
}

func (r *rewindReader) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

// Keep-alives are the steady state of an idle control connection:
// splitting them off the stream allocates nothing, parsing one allocates
// the *EchoRequest and nothing else, and answering allocates nothing.
func TestAllocations(t *testing.T) {
	echo := echoRequest()
	r := pptp.NewReader(&rewindReader{data: echo})
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Reader.Next: %v allocations, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := pptp.Parse(echo); err != nil {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("Parse(Echo-Request): %v allocations, want at most 1", n)
	}
	reply := &pptp.EchoReply{ResultCode: pptp.EchoOK}
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(1000, func() {
		reply.Identifier++
		buf = pptp.Append(buf[:0], reply)
	}); n != 0 {
		t.Errorf("Append(Echo-Reply): %v allocations, want 0", n)
	}
}

func BenchmarkParseEchoRequest(b *testing.B) {
	echo := echoRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pptp.Parse(echo); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStartControlConnectionRequest(b *testing.B) {
	m := pptp.Append(nil, samples()[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pptp.Parse(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendEchoReply(b *testing.B) {
	reply := &pptp.EchoReply{ResultCode: pptp.EchoOK}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		reply.Identifier++
		buf = pptp.Append(buf[:0], reply)
	}
}

func BenchmarkReaderNext(b *testing.B) {
	r := pptp.NewReader(&rewindReader{data: stream()})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
