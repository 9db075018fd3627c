package controltest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// Record is one log record, its attributes flattened to text
// ("group.key": "value").
type Record struct {
	Level   slog.Level
	Message string
	Attrs   map[string]string
}

func (r Record) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %q", r.Level, r.Message)
	for k, v := range r.Attrs {
		fmt.Fprintf(&b, " %s=%q", k, v)
	}
	return b.String()
}

// LogRecorder is a slog.Handler that keeps every record, at every level.
type LogRecorder struct {
	store  *logStore
	attrs  []slog.Attr
	prefix string
}

type logStore struct {
	mu      sync.Mutex
	records []Record
}

// NewLogRecorder returns an empty LogRecorder.
func NewLogRecorder() *LogRecorder { return &LogRecorder{store: &logStore{}} }

// Enabled reports true for every level.
func (*LogRecorder) Enabled(context.Context, slog.Level) bool { return true }

// Handle keeps r.
func (h *LogRecorder) Handle(_ context.Context, r slog.Record) error {
	rec := Record{Level: r.Level, Message: r.Message, Attrs: make(map[string]string)}
	for _, a := range h.attrs {
		addAttr(rec.Attrs, "", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(rec.Attrs, h.prefix, a)
		return true
	})
	h.store.mu.Lock()
	h.store.records = append(h.store.records, rec)
	h.store.mu.Unlock()
	return nil
}

func addAttr(m map[string]string, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		for _, g := range v.Group() {
			addAttr(m, prefix+a.Key+".", g)
		}
		return
	}
	m[prefix+a.Key] = v.String()
}

// WithAttrs returns a handler that adds as to every record.
func (h *LogRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append([]slog.Attr(nil), h.attrs...)
	for _, a := range as {
		if h.prefix != "" {
			a.Key = h.prefix + a.Key
		}
		h2.attrs = append(h2.attrs, a)
	}
	return &h2
}

// WithGroup returns a handler that puts later attributes in a group.
func (h *LogRecorder) WithGroup(name string) slog.Handler {
	h2 := *h
	h2.prefix = h.prefix + name + "."
	return &h2
}

// Records returns every record kept so far.
func (h *LogRecorder) Records() []Record {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	return append([]Record(nil), h.store.records...)
}
