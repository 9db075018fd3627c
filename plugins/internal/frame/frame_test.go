package frame

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/protobuf/proto"

	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// vectors are frames written out by hand from plugin.proto's description.
var vectors = []struct {
	name string
	h    Header
	hex  string // header only
}{
	{"call with timeout", Header{Length: 5, ID: 0x01020304, Type: Call, Method: pluginv2.Method_METHOD_VERIFY_PLAINTEXT, Timeout: 5 * time.Second},
		"0000000d" + "01020304" + "04" + "001388"},
	{"cancel", Header{ID: 7, Type: Cancel, Method: pluginv2.Method_METHOD_LOOKUP},
		"00000008" + "00000007" + "47" + "000000"},
	{"reply", Header{Length: 2, ID: 0xffffffff, Type: Reply, Method: pluginv2.Method_METHOD_FRAGMENTS},
		"0000000a" + "ffffffff" + "83" + "000000"},
	{"error", Header{Length: 300, ID: 9, Type: Error, Method: pluginv2.Method_METHOD_PING},
		"00000134" + "00000009" + "c9" + "000000"},
	{"longest timeout", Header{ID: 1, Type: Call, Method: pluginv2.Method_METHOD_HEALTH, Timeout: MaxTimeout},
		"00000008" + "00000001" + "08" + "ffffff"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			got := hex.EncodeToString(v.h.Append(nil))
			if got != v.hex {
				t.Errorf("Append = %s, want %s", got, v.hex)
			}
			b, _ := hex.DecodeString(v.hex)
			h, err := Parse(b)
			if err != nil || h != v.h {
				t.Errorf("Parse = %+v, %v; want %+v", h, err, v.h)
			}
		})
	}
}

func TestTimeoutEncoding(t *testing.T) {
	for _, c := range []struct{ in, out time.Duration }{
		{0, 0},
		{-time.Second, 0},
		{time.Microsecond, time.Millisecond}, // rounded up, never "none"
		{1500 * time.Microsecond, 2 * time.Millisecond},
		{2 * time.Millisecond, 2 * time.Millisecond},
		{24 * time.Hour, MaxTimeout},
	} {
		h, err := Parse(Header{Timeout: c.in}.Append(nil))
		if err != nil || h.Timeout != c.out {
			t.Errorf("timeout %v travels as %v (%v), want %v", c.in, h.Timeout, err, c.out)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		hex  string
	}{
		{"short", "0000000800000001"},
		{"length below the header", "00000007" + "00000001" + "01" + "000000"},
		{"payload over the limit", "00100009" + "00000001" + "01" + "000000"},
		{"huge", "ffffffff" + "00000001" + "01" + "000000"},
	} {
		b, _ := hex.DecodeString(c.hex)
		if _, err := Parse(b); !errors.Is(err, ErrLength) {
			t.Errorf("%s: %v, want ErrLength", c.name, err)
		}
	}
}

func TestAppendMessage(t *testing.T) {
	req := &pluginv2.VerifyPlaintextRequest{User: "alice", Secret: []byte("correct horse")}
	prefix := []byte("queued")
	b, err := AppendMessage(bytes.Clone(prefix), Header{ID: 3, Type: Call, Method: pluginv2.Method_METHOD_VERIFY_PLAINTEXT, Length: 999}, req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, prefix) {
		t.Fatal("the queued bytes were changed")
	}
	h, err := Parse(b[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	payload := b[len(prefix)+HeaderLen:]
	if h.Length != len(payload) || h.ID != 3 || h.Method != pluginv2.Method_METHOD_VERIFY_PLAINTEXT {
		t.Fatalf("header %+v for a %d-byte payload", h, len(payload))
	}
	var got pluginv2.VerifyPlaintextRequest
	if err := proto.Unmarshal(payload, &got); err != nil || !proto.Equal(&got, req) {
		t.Fatalf("payload %v (%v)", &got, err)
	}

	// Too large: nothing is appended.
	big := &pluginv2.VerifyPlaintextRequest{Secret: make([]byte, MaxPayload)}
	b, err = AppendMessage(bytes.Clone(prefix), Header{Type: Call, Method: pluginv2.Method_METHOD_VERIFY_PLAINTEXT}, big)
	if !errors.Is(err, ErrLength) || !bytes.Equal(b, prefix) {
		t.Fatalf("an oversized payload: %v, %d bytes left", err, len(b))
	}
	if _, err := AppendMessage(nil, Header{Method: 64}, nil); !errors.Is(err, ErrMethod) {
		t.Fatalf("method 64: %v", err)
	}
}

// stream is three frames, the middle one large enough to make the
// Reader's buffer grow.
func stream(t testing.TB) ([]byte, []Header) {
	var b []byte
	var hs []Header
	for i, m := range []proto.Message{
		&pluginv2.FragmentsRequest{User: "alice"},
		&pluginv2.VerifyPlaintextRequest{User: "bob", Secret: bytes.Repeat([]byte("x"), 5000)},
		nil,
	} {
		h := Header{ID: uint32(i), Type: Call, Method: pluginv2.Method(i + 3)}
		var err error
		if b, err = AppendMessage(b, h, m); err != nil {
			t.Fatal(err)
		}
		h.Length = proto.Size(m)
		if m == nil {
			h.Length = 0
		}
		hs = append(hs, h)
	}
	return b, hs
}

func TestReader(t *testing.T) {
	b, want := stream(t)
	for name, r := range map[string]io.Reader{
		"whole":       bytes.NewReader(b),
		"byte a time": iotest.OneByteReader(bytes.NewReader(b)),
		"half":        iotest.HalfReader(bytes.NewReader(b)),
	} {
		t.Run(name, func(t *testing.T) {
			fr := NewReader(r, 64)
			for i, w := range want {
				h, p, err := fr.Next()
				if err != nil || h != w || len(p) != w.Length {
					t.Fatalf("frame %d: %+v (%d bytes), %v; want %+v", i, h, len(p), err, w)
				}
			}
			if _, _, err := fr.Next(); err != io.EOF {
				t.Fatalf("after the last frame: %v, want EOF", err)
			}
		})
	}
	// Cut inside the second frame.
	fr := NewReader(bytes.NewReader(b[:40]), 64)
	if _, _, err := fr.Next(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := fr.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("a cut frame: %v, want ErrUnexpectedEOF", err)
	}
	fr = NewReader(bytes.NewReader(b[:5]), 64)
	if _, _, err := fr.Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("a cut header: %v, want ErrUnexpectedEOF", err)
	}
}

// TestNoAllocations pins the steady state: encoding into a buffer with
// room and reading frames that fit allocate nothing.
func TestNoAllocations(t *testing.T) {
	req := &pluginv2.VerifyPlaintextRequest{User: "alice", Secret: []byte("correct horse")}
	buf := make([]byte, 0, 4096)
	h := Header{ID: 1, Type: Call, Method: pluginv2.Method_METHOD_VERIFY_PLAINTEXT, Timeout: time.Second}
	if n := testing.AllocsPerRun(100, func() {
		var err error
		if buf, err = AppendMessage(buf[:0], h, req); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendMessage: %v allocations", n)
	}
	src := bytes.NewReader(nil)
	fr := NewReader(src, 4096)
	if n := testing.AllocsPerRun(100, func() {
		src.Reset(buf)
		if _, _, err := fr.Next(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Reader.Next: %v allocations", n)
	}
}
