package ppp

import (
	"errors"
	"fmt"
	"iter"
)

// Errors of ParseOptions.
var (
	ErrShortOption  = errors.New("ppp: option shorter than its 2-octet header")
	ErrOptionLength = errors.New("ppp: option Length field is below 2 or beyond the packet")
)

// MaxOptionData is the most data one option can carry: its Length field
// has 8 bits and counts the Type and Length octets.
const MaxOptionData = 0xff - 2

// Option is one Configuration Option (RFC 1661 section 6): Type, Length
// and Data. What Type means depends on the protocol.
//
//	 0                   1
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//	|     Type      |    Length     |  Data ...
//	+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
type Option struct {
	Type uint8
	Data []byte
}

// Len is the option's Length field.
func (o Option) Len() int { return 2 + len(o.Data) }

// Append appends the encoded option. It panics if Data is longer than
// MaxOptionData: options are built by this module, never longer than a
// few octets.
func (o Option) Append(dst []byte) []byte {
	if len(o.Data) > MaxOptionData {
		panic(fmt.Sprintf("ppp: option %d data of %d octets exceeds %d", o.Type, len(o.Data), MaxOptionData))
	}
	dst = append(dst, o.Type, byte(o.Len()))
	return append(dst, o.Data...)
}

// String shows the option as "type 13 [06]".
func (o Option) String() string {
	return fmt.Sprintf("type %d [% x]", o.Type, o.Data)
}

// AppendOption appends an option of the given type and data.
func AppendOption(dst []byte, typ uint8, data ...byte) []byte {
	return Option{Type: typ, Data: data}.Append(dst)
}

// Options is the Options field of a Configure-Request, -Ack, -Nak or
// -Reject: a sequence of options, each checked by ParseOptions.
type Options []byte

// DecodeOptions parses the Options field b and decodes each option with
// parse: the ParseOptions of LCP, IPCP and CCP. A framing error is
// prefixed with layer ("lcp: ..."); parse's errors are returned as they
// are.
func DecodeOptions[T any](b []byte, layer string, parse func(Option) (T, error)) ([]T, error) {
	opts, err := ParseOptions(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", layer, err)
	}
	var out []T
	for o := range opts.All() {
		d, err := parse(o)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// ParseOptions checks that b is a well-formed sequence of options: each
// at least 2 octets long and none running past the end. An empty sequence
// is valid. The result aliases b. ParseOptions never allocates.
func ParseOptions(b []byte) (Options, error) {
	for rest := b; len(rest) > 0; {
		if len(rest) < 2 {
			return nil, ErrShortOption
		}
		n := int(rest[1])
		if n < 2 || n > len(rest) {
			return nil, ErrOptionLength
		}
		rest = rest[n:]
	}
	return Options(b), nil
}

// All yields the options in order. Data aliases o. On a sequence that did
// not come from ParseOptions it stops at the first malformed option.
func (o Options) All() iter.Seq[Option] {
	return func(yield func(Option) bool) {
		for rest := o; len(rest) >= 2; {
			n := int(rest[1])
			if n < 2 || n > len(rest) {
				return
			}
			if !yield(Option{Type: rest[0], Data: rest[2:n]}) {
				return
			}
			rest = rest[n:]
		}
	}
}

// Count returns the number of options of type typ.
func (o Options) Count(typ uint8) int {
	n := 0
	for opt := range o.All() {
		if opt.Type == typ {
			n++
		}
	}
	return n
}

// Find returns the first option of type typ.
func (o Options) Find(typ uint8) (Option, bool) {
	for opt := range o.All() {
		if opt.Type == typ {
			return opt, true
		}
	}
	return Option{}, false
}
