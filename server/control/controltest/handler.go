package controltest

import (
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-vpn/gatehouse/server/control"
)

// EventKind says which CallHandler method an Event records.
type EventKind uint8

const (
	NewCall EventKind = iota + 1
	CallEnded
	LinkInfo
)

func (k EventKind) String() string {
	switch k {
	case NewCall:
		return "NewCall"
	case CallEnded:
		return "CallEnded"
	case LinkInfo:
		return "LinkInfo"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one call of a CallHandler method.
type Event struct {
	Kind                  EventKind
	Call                  *control.Call
	Cause                 string // CallEnded
	SendACCM, ReceiveACCM uint32 // LinkInfo
}

// Handler is a control.CallHandler that records every call of its
// methods, in order, and accepts every call unless Refuse says no.
type Handler struct {
	// Refuse, when set before the server starts, is asked about every
	// new call; an error refuses it.
	Refuse func(*control.Call) error

	mu     sync.Mutex
	events []Event
	signal chan struct{} // closed and replaced on every event
	taken  int
}

// NewHandler returns an empty Handler.
func NewHandler() *Handler { return &Handler{signal: make(chan struct{})} }

func (h *Handler) record(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
	close(h.signal)
	h.signal = make(chan struct{})
}

// NewCall records the call and asks Refuse.
func (h *Handler) NewCall(c *control.Call) error {
	if h.Refuse != nil {
		if err := h.Refuse(c); err != nil {
			return err
		}
	}
	h.record(Event{Kind: NewCall, Call: c})
	return nil
}

// CallEnded records the end of a call.
func (h *Handler) CallEnded(c *control.Call, cause string) {
	h.record(Event{Kind: CallEnded, Call: c, Cause: cause})
}

// LinkInfo records a Set-Link-Info.
func (h *Handler) LinkInfo(c *control.Call, sendACCM, receiveACCM uint32) {
	h.record(Event{Kind: LinkInfo, Call: c, SendACCM: sendACCM, ReceiveACCM: receiveACCM})
}

// Next returns the first event not yet returned, waiting up to timeout.
func (h *Handler) Next(timeout time.Duration) (Event, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		h.mu.Lock()
		if h.taken < len(h.events) {
			e := h.events[h.taken]
			h.taken++
			h.mu.Unlock()
			return e, nil
		}
		signal := h.signal
		h.mu.Unlock()
		select {
		case <-signal:
		case <-deadline.C:
			return Event{}, fmt.Errorf("controltest: no CallHandler event within %v", timeout)
		}
	}
}

// Expect returns the next event if it is of kind k.
func (h *Handler) Expect(k EventKind, timeout time.Duration) (Event, error) {
	e, err := h.Next(timeout)
	if err != nil {
		return e, fmt.Errorf("waiting for %v: %w", k, err)
	}
	if e.Kind != k {
		return e, fmt.Errorf("got %v (cause %q), want %v", e.Kind, e.Cause, k)
	}
	return e, nil
}

// Events returns every event recorded so far.
func (h *Handler) Events() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Event(nil), h.events...)
}
