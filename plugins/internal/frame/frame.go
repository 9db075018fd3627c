// Package frame is the codec of the frames that carry Gatehouse plugin
// calls in protocol version 2 (proto/gatehouse/plugin/v2, whose
// plugin.proto is the specification): a 12-byte header and a protobuf
// payload.
//
//	bytes 0-3   length of the rest (8 + payload), big-endian
//	bytes 4-7   id of the call, big-endian
//	byte  8     bits 7-6: Type; bits 5-0: Method
//	bytes 9-11  timeout of a call in milliseconds, big-endian (0: none)
//
// The codec is pure: [Header.Append] and [Parse] work on byte slices,
// [AppendMessage] marshals a payload in place, and [Reader] cuts frames
// out of a stream into a buffer it reuses. Nothing here logs, allocates
// per frame in steady state, or touches a socket beyond the io.Reader it
// is given.
package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// Sizes and limits of the format.
const (
	// HeaderLen is the length of a frame's header.
	HeaderLen = 12
	// MaxPayload bounds a frame's payload.
	MaxPayload = 1 << 20
	// MaxTimeout is the longest timeout a header can carry; longer ones
	// are sent as MaxTimeout.
	MaxTimeout = (1<<24 - 1) * time.Millisecond
	// lengthOverhead is what the length field counts besides the payload.
	lengthOverhead = HeaderLen - 4
)

// Type is a frame's type, the top two bits of its kind byte.
type Type uint8

// The frame types.
const (
	// Call asks the plugin to run Method; host to plugin.
	Call Type = iota
	// Cancel abandons the call ID; host to plugin, no payload.
	Cancel
	// Reply answers the call ID with Method's response; plugin to host.
	Reply
	// Error answers the call ID with a pluginv2.Error; plugin to host.
	Error
)

func (t Type) String() string {
	switch t {
	case Call:
		return "call"
	case Cancel:
		return "cancel"
	case Reply:
		return "reply"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// Header is a frame's header.
type Header struct {
	// Length is the payload's length in bytes.
	Length int
	ID     uint32
	Type   Type
	// Method is the call's method; 6 bits on the wire.
	Method pluginv2.Method
	// Timeout is how long the host waits for the answer to a call,
	// carried in whole milliseconds (rounded up, at most MaxTimeout); 0
	// means no limit.
	Timeout time.Duration
}

// Errors of Parse and Reader.Next. A stream that yields one of them cannot
// be resynchronised: the channel must end.
var (
	ErrLength = errors.New("frame: length out of range")
	ErrMethod = errors.New("frame: method does not fit in 6 bits")
)

// Append appends h's 12 bytes to b.
func (h Header) Append(b []byte) []byte {
	ms := h.Timeout.Milliseconds()
	if time.Duration(ms)*time.Millisecond < h.Timeout {
		ms++ // round up: a timeout below 1ms must not read as "none"
	}
	ms = min(ms, int64(MaxTimeout/time.Millisecond))
	if ms < 0 {
		ms = 0
	}
	b = binary.BigEndian.AppendUint32(b, uint32(h.Length+lengthOverhead))
	b = binary.BigEndian.AppendUint32(b, h.ID)
	return append(b, byte(h.Type)<<6|byte(h.Method)&0x3f, byte(ms>>16), byte(ms>>8), byte(ms))
}

// Parse reads the header at the start of b, which must hold at least
// HeaderLen bytes. It checks that the payload length is within MaxPayload.
func Parse(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: %d bytes, a header needs %d", ErrLength, len(b), HeaderLen)
	}
	n := binary.BigEndian.Uint32(b)
	if n < lengthOverhead || n > lengthOverhead+MaxPayload {
		return Header{}, fmt.Errorf("%w: %d", ErrLength, n)
	}
	return Header{
		Length:  int(n) - lengthOverhead,
		ID:      binary.BigEndian.Uint32(b[4:]),
		Type:    Type(b[8] >> 6),
		Method:  pluginv2.Method(b[8] & 0x3f),
		Timeout: time.Duration(uint32(b[9])<<16|uint32(b[10])<<8|uint32(b[11])) * time.Millisecond,
	}, nil
}

var marshal = proto.MarshalOptions{}

// fastMessage is a message with generated marshalling code
// (protoc-gen-go-vtproto, plugin_vtproto.pb.go): no reflection, fewer
// allocations, and a shallow stack.
type fastMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT(dAtA []byte) (int, error)
	UnmarshalVT(dAtA []byte) error
}

// Unmarshal decodes a payload into m, with m's generated code when it has
// some. On what a conforming encoder writes, that code and protobuf's
// decode the same message (FuzzUnmarshal); on malformed input they
// differ: the generated code refuses a field of the wrong wire type
// (protobuf keeps it as an unknown field; a frame that does not decode
// breaks the channel), does not check that strings are UTF-8 (a user name
// that is not reaches the back-end, which does not know it; under protocol
// version 1 the call failed instead), and reads some malformed map
// entries differently. A plugin decides its factor's verdict anyway, and
// the host checks every answer it decodes as it always did (lengths of
// keys, proofs, fragments), so none of this becomes an accept.
func Unmarshal(payload []byte, m proto.Message) error {
	if f, ok := m.(fastMessage); ok {
		return f.UnmarshalVT(payload)
	}
	return proto.Unmarshal(payload, m)
}

// AppendMessage appends a frame with header h (its Length is ignored) and
// m marshalled as the payload; m nil is an empty payload. On error b is
// returned unchanged.
func AppendMessage(b []byte, h Header, m proto.Message) ([]byte, error) {
	if h.Method > 0x3f {
		return b, ErrMethod
	}
	start := len(b)
	b = h.Append(b)
	if m == nil {
		return b, nil
	}
	var err error
	if f, ok := m.(fastMessage); ok {
		n := f.SizeVT()
		b = slices.Grow(b, n)[:len(b)+n]
		_, err = f.MarshalToSizedBufferVT(b[len(b)-n:])
	} else {
		b, err = marshal.MarshalAppend(b, m)
	}
	if err != nil {
		return b[:start], fmt.Errorf("frame: marshal %s: %w", h.Method, err)
	}
	n := len(b) - start - HeaderLen
	if n > MaxPayload {
		return b[:start], fmt.Errorf("%w: a %s payload of %d bytes", ErrLength, h.Method, n)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(n+lengthOverhead))
	return b, nil
}

// Reader cuts frames out of a byte stream. It reads as much as the stream
// offers into one buffer, so that the frames of one write cost one read.
type Reader struct {
	r          io.Reader
	buf        []byte
	start, end int // unread bytes are buf[start:end]
}

// NewReader returns a Reader on r with a buffer of size bytes, which grows
// for a frame that does not fit (up to HeaderLen + MaxPayload).
func NewReader(r io.Reader, size int) *Reader {
	return &Reader{r: r, buf: make([]byte, max(size, HeaderLen))}
}

// Next returns the next frame's header and payload. The payload aliases
// the Reader's buffer and is valid until the next call. At the end of the
// stream it returns io.EOF, or io.ErrUnexpectedEOF inside a frame.
func (r *Reader) Next() (Header, []byte, error) {
	if err := r.fill(HeaderLen); err != nil {
		return Header{}, nil, err
	}
	h, err := Parse(r.buf[r.start:r.end])
	if err != nil {
		return Header{}, nil, err
	}
	if err := r.fill(HeaderLen + h.Length); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, nil, err
	}
	p := r.buf[r.start+HeaderLen : r.start+HeaderLen+h.Length : r.start+HeaderLen+h.Length]
	r.start += HeaderLen + h.Length
	return h, p, nil
}

// Buffered is how many bytes of the stream the Reader holds unread: more
// than zero means Next can return a frame, or part of one, without
// reading.
func (r *Reader) Buffered() int { return r.end - r.start }

// fill makes at least n bytes readable at buf[start:].
func (r *Reader) fill(n int) error {
	if r.end-r.start >= n {
		return nil
	}
	if n > len(r.buf) {
		buf := make([]byte, max(n, 2*len(r.buf)))
		r.end = copy(buf, r.buf[r.start:r.end])
		r.start, r.buf = 0, buf
	} else if r.start+n > len(r.buf) {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	for r.end-r.start < n {
		m, err := r.r.Read(r.buf[r.end:])
		r.end += m
		if err != nil {
			if r.end-r.start >= n {
				return nil
			}
			if err == io.EOF && r.end > r.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}
