package pptp

import "io"

// readerBufferSize holds a few whole messages, so that one Read from a
// TCP connection usually yields several (a client sends SCCRQ and OCRQ
// back to back).
const readerBufferSize = 4 * 256

// Reader splits the TCP byte stream of a control connection into
// messages, using the Length field of each (section 1.3.1: the control
// connection is a byte stream; messages are not aligned to segments).
//
// Its buffer is fixed (about 1 KiB) and allocated once with the Reader.
// As soon as the first ten octets of a message are in, Reader checks the
// Magic Cookie, the PPTP Message Type, the Control Message Type and that
// Length is that type's length; so a peer that is not speaking PPTP, or a
// stream that is out of step, fails at once with a ParseError instead of
// making the Reader wait for a length it made up. A message can therefore
// never be longer than MaxMessageLength.
//
// Errors are sticky: after a ParseError or a read error every call returns
// the same error, since the stream cannot be trusted any more. A stream
// that ends between messages yields io.EOF; one that ends inside a
// message yields io.ErrUnexpectedEOF.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	r          io.Reader
	err        error // sticky: returned once the buffer cannot serve a message
	start, end int   // buffered, unconsumed octets are buf[start:end]
	buf        [readerBufferSize]byte
}

// NewReader returns a Reader reading from r, typically a net.Conn.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next returns the octets of the next whole message, header included.
// The slice points into the Reader's buffer and is valid until the next
// call to Next or ReadMessage; Parse it, or copy it, before then.
func (r *Reader) Next() ([]byte, error) {
	emptyReads := 0
	for {
		avail := r.end - r.start
		if avail >= prefixLength {
			_, n, err := checkPrefix(r.buf[r.start:r.end])
			if err != nil {
				r.err = err
				r.start = r.end // never look at these octets again
				return nil, err
			}
			if avail >= n {
				m := r.buf[r.start : r.start+n : r.start+n]
				r.start += n
				return m, nil
			}
		}
		if r.err != nil {
			if r.err == io.EOF && avail > 0 {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, r.err
		}
		if len(r.buf)-r.end < MaxMessageLength {
			r.end = copy(r.buf[:], r.buf[r.start:r.end])
			r.start = 0
		}
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.err = err
		}
		if n == 0 && err == nil {
			if emptyReads++; emptyReads >= 100 {
				r.err = io.ErrNoProgress
			}
		}
	}
}

// ReadMessage reads and parses the next message.
func (r *Reader) ReadMessage() (Message, error) {
	b, err := r.Next()
	if err != nil {
		return nil, err
	}
	return Parse(b)
}
