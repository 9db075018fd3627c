package control

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// callIDQuarantine is how long a freed Call ID is not handed out again,
// so that GRE packets still in flight for an ended call cannot land in a
// new one.
const callIDQuarantine = time.Minute

// callTable hands out Call IDs and counts calls against MaxCalls.
//
// RFC 2637 section 3.2.2 asks only that a Call ID be unique on its
// control connection; Gatehouse makes it unique across the server, so
// the GRE layer can find a session from the Call ID in a packet's key
// alone. IDs are taken in turn from a cursor that starts at a random
// value (so a restarted server does not reuse the IDs the previous one
// just gave out), skipping 0, IDs in use, and IDs freed less than
// quarantine ago.
type callTable struct {
	sync.Mutex
	byID       map[uint16]*Call
	freed      map[uint16]time.Time // when each recently freed ID was freed
	next       uint16               // the next candidate, never 0
	max        int                  // MaxCalls
	quarantine time.Duration
}

func newCallTable(max int, quarantine time.Duration) *callTable {
	return &callTable{
		byID:       make(map[uint16]*Call),
		freed:      make(map[uint16]time.Time),
		next:       uint16(rand.N(0xFFFF)) + 1,
		max:        max,
		quarantine: quarantine,
	}
}

// limitError and errNoCallID say why add refused a call; both become an
// Outgoing-Call-Reply with General Error, No-Resource.
type limitError struct{ max int }

func (e limitError) Error() string {
	return fmt.Sprintf("connection limit reached: MaxCalls is %d", e.max)
}

var errNoCallID = fmt.Errorf("every Call ID is in use or was freed less than %v ago", callIDQuarantine)

// add gives c a Call ID and counts it, or says why it cannot.
func (t *callTable) add(c *Call, now time.Time) error {
	t.Lock()
	defer t.Unlock()
	if len(t.byID) >= t.max {
		return limitError{t.max}
	}
	if len(t.freed) > 4*t.max {
		t.pruneLocked(now)
	}
	for range 0xFFFF {
		id := t.next
		if t.next++; t.next == 0 {
			t.next = 1
		}
		if _, used := t.byID[id]; used {
			continue
		}
		if at, ok := t.freed[id]; ok {
			if now.Sub(at) < t.quarantine {
				continue
			}
			delete(t.freed, id)
		}
		c.ID = id
		t.byID[id] = c
		return nil
	}
	return errNoCallID
}

// remove frees c's Call ID; it is not handed out again for quarantine.
func (t *callTable) remove(c *Call, now time.Time) {
	t.Lock()
	defer t.Unlock()
	if t.byID[c.ID] == c {
		delete(t.byID, c.ID)
		t.freed[c.ID] = now
	}
}

func (t *callTable) len() int {
	t.Lock()
	defer t.Unlock()
	return len(t.byID)
}

// pruneLocked forgets IDs whose quarantine is over, so freed stays about
// as large as the number of calls that ended in the last quarantine.
func (t *callTable) pruneLocked(now time.Time) {
	for id, at := range t.freed {
		if now.Sub(at) >= t.quarantine {
			delete(t.freed, id)
		}
	}
}
