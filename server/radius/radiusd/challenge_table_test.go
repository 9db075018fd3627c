package radiusd

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

var (
	nasA = nasBinding{addr: netip.MustParseAddr("10.0.0.1"), identifier: "vpn-a"}
	nasB = nasBinding{addr: netip.MustParseAddr("10.0.0.2"), identifier: "vpn-a"}
	// nasC shares nasA's address but names itself otherwise.
	nasC = nasBinding{addr: netip.MustParseAddr("10.0.0.1"), identifier: "vpn-c"}
	nasD = nasBinding{addr: netip.MustParseAddr("10.0.0.1"), identifier: "vpn-a", ip: netip.MustParseAddr("192.0.2.1")}
)

// clock is a settable now for a table.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// table is a challenge table on a fake clock, with a lifetime its timers
// never reach during a test.
func table(total, perUser int) (*challenges, *clock) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	t := newChallenges(ChallengeConfig{Timeout: time.Hour, MaxPending: total, MaxPendingPerUser: perUser})
	t.now = c.now
	return t, c
}

var ch = &authpolicy.Challenge{Branch: "Password and OATH", Codes: []string{"OATH"}, CodeAt: 2}

func mustAdd(t *testing.T, tab *challenges, user string, nas nasBinding) []byte {
	t.Helper()
	state, _, err := tab.add(user, nas, []byte("pw"), ch)
	if err != nil {
		t.Fatal(err)
	}
	return state
}

// TestChallengeTableBinding: a State answers only for its user and its NAS
// (address, NAS-Identifier, NAS-IP-Address), once; a wrong binding leaves
// it for the right answer.
func TestChallengeTableBinding(t *testing.T) {
	tab, _ := table(10, 3)
	state := mustAdd(t, tab, "alice", nasA)
	if len(state) != StateLen {
		t.Fatalf("State of %d bytes", len(state))
	}
	for _, tc := range []struct {
		user string
		nas  nasBinding
		want stateCheck
	}{
		{"bob", nasA, stateOtherUser},
		{"Alice", nasA, stateOtherUser},
		{"alice", nasB, stateOtherNAS},
		{"alice", nasC, stateOtherNAS},
		{"alice", nasD, stateOtherNAS},
	} {
		if p, got := tab.take(state, tc.user, tc.nas); got != tc.want || p != nil {
			t.Errorf("%s at %+v: %v, want %v", tc.user, tc.nas, got.reason(), tc.want.reason())
		}
	}
	p, got := tab.take(state, "alice", nasA)
	if got != stateOK || p == nil {
		t.Fatalf("the right answer: %s", got.reason())
	}
	if w := string(p.complete([]byte("123456"))); w != "pw123456" {
		t.Errorf("complete = %q", w)
	}
	if _, got := tab.take(state, "alice", nasA); got != stateUsed {
		t.Errorf("second use: %s", got.reason())
	}
	if _, got := tab.take([]byte("0123456789abcdef"), "alice", nasA); got != stateUnknown {
		t.Errorf("a State never issued: %s", got.reason())
	}
	if n, _, _ := tab.counts(); n != 0 {
		t.Errorf("%d pending after the answer", n)
	}
	// Every State differs.
	seen := map[string]bool{}
	for range 100 {
		s := string(mustAdd(t, tab, "carol", nasA))
		if seen[s] {
			t.Fatal("a State came twice")
		}
		seen[s] = true
	}
}

// TestChallengeTableExpiry: past its lifetime a State is refused as
// expired and its password wiped; a lifetime later it is forgotten.
func TestChallengeTableExpiry(t *testing.T) {
	tab, clk := table(10, 3)
	state := mustAdd(t, tab, "alice", nasA)
	held := tab.live[string(state)].first
	clk.add(time.Hour - time.Second)
	if _, got := tab.take(state, "bob", nasA); got != stateOtherUser {
		t.Fatalf("before expiry: %s", got.reason())
	}
	clk.add(time.Second)
	if _, got := tab.take(state, "alice", nasA); got != stateExpired {
		t.Fatalf("at expiry: %s", got.reason())
	}
	if held.b != nil {
		t.Error("expired password not wiped")
	}
	if _, expired, _ := tab.counts(); expired != 1 {
		t.Errorf("expired count %d", expired)
	}
	clk.add(2*time.Hour - time.Second)
	if _, got := tab.take(state, "alice", nasA); got != stateExpired {
		t.Errorf("soon after expiry: %s", got.reason())
	}
	clk.add(time.Second)
	if _, got := tab.take(state, "alice", nasA); got != stateUnknown {
		t.Errorf("two lifetimes after expiry: %s", got.reason())
	}
	if len(tab.gone) != 0 || len(tab.goneOrder) != 0 {
		t.Errorf("remembered: %d %d", len(tab.gone), len(tab.goneOrder))
	}
}

// TestChallengeTableTimer: the timer wipes an unanswered password at
// expiry, without any request to notice.
func TestChallengeTableTimer(t *testing.T) {
	tab := newChallenges(ChallengeConfig{Timeout: 20 * time.Millisecond, MaxPending: 10, MaxPendingPerUser: 3})
	state := mustAdd(t, tab, "alice", nasA)
	tab.mu.Lock()
	held := tab.live[string(state)].first
	tab.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tab.mu.Lock()
		wiped := held.b == nil
		tab.mu.Unlock()
		if wiped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("password not wiped at expiry")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, expired, _ := tab.counts(); n != 0 || expired != 1 {
		t.Errorf("pending %d, expired %d", n, expired)
	}
	if _, got := tab.take(state, "alice", nasA); got != stateExpired {
		t.Errorf("answer after expiry: %s", got.reason())
	}
}

// TestChallengeTableLimits: past max per user the user's oldest goes;
// past max in total a new one is refused (the user's own replacement
// still works).
func TestChallengeTableLimits(t *testing.T) {
	tab, _ := table(3, 2)
	a1 := mustAdd(t, tab, "alice", nasA)
	a2 := mustAdd(t, tab, "alice", nasA)
	held := tab.live[string(a1)].first
	a3, replaced, err := tab.add("alice", nasA, []byte("pw"), ch)
	if err != nil || replaced != stateRef(string(a1)) {
		t.Fatalf("third of alice: replaced %q, %v", replaced, err)
	}
	if held.b != nil {
		t.Error("replaced password not wiped")
	}
	if _, got := tab.take(a1, "alice", nasA); got != stateReplaced {
		t.Errorf("replaced State: %s", got.reason())
	}
	mustAdd(t, tab, "bob", nasA)
	if _, _, err := tab.add("carol", nasA, []byte("pw"), ch); !errors.Is(err, errFull) {
		t.Fatalf("fourth in a table of 3: %v", err)
	}
	if _, replaced, err := tab.add("alice", nasA, []byte("pw"), ch); err != nil || replaced != stateRef(string(a2)) {
		t.Errorf("alice replacing her own: %q %v", replaced, err)
	}
	if n, _, rep := tab.counts(); n != 3 || rep != 2 {
		t.Errorf("pending %d, replaced %d", n, rep)
	}
	if _, got := tab.take(a3, "alice", nasA); got != stateOK {
		t.Errorf("alice's third: %s", got.reason())
	}
	// Remembered States are bounded too.
	for range 10 {
		s := mustAdd(t, tab, "dave", nasA)
		tab.take(s, "dave", nasA)
	}
	if len(tab.gone) > 3 || len(tab.goneOrder) != len(tab.gone) {
		t.Errorf("remembers %d (%d in order), at most 3", len(tab.gone), len(tab.goneOrder))
	}
}

// TestChallengeTableClose wipes every held password.
func TestChallengeTableClose(t *testing.T) {
	tab, _ := table(10, 3)
	s := mustAdd(t, tab, "alice", nasA)
	held := tab.live[string(s)].first
	tab.close()
	if held.b != nil {
		t.Error("not wiped at close")
	}
	if _, got := tab.take(s, "alice", nasA); got == stateOK {
		t.Error("answered after close")
	}
}

// TestHeldSecretRedacts: the held password prints, logs and marshals as
// REDACTED, alone and inside a pending challenge.
func TestHeldSecretRedacts(t *testing.T) {
	h := newHeldSecret([]byte("hunter2"))
	p := &pending{user: "alice", first: h}
	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Info("x", "held", h, "pending", p)
	j, _ := json.Marshal(struct{ H *heldSecret }{h})
	out := fmt.Sprintf("%v %+v %#v %s %q %x", h, h, h, h, h, h) + fmt.Sprintf("%+v %#v", p, *p) + log.String() + string(j)
	if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
		t.Errorf("the password leaks:\n%s", out)
	}
	h.wipe()
	if h.b != nil {
		t.Error("not wiped")
	}
}
