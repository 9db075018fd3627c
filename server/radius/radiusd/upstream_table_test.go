package radiusd

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

func upstream(cont string) *authpolicy.BackendChallenge {
	return &authpolicy.BackendChallenge{Backend: "RADIUS", Branch: "RADIUS", Message: "Code?", Continuation: []byte(cont)}
}

// TestChallengeTableUpstream: a back-end's challenge is an entry of the
// same table, with the same binding, single use and limits; it holds the
// continuation and the round instead of a password, and the continuation
// is wiped when the entry is replaced, refused or closed.
func TestChallengeTableUpstream(t *testing.T) {
	tab, _ := table(2, 1)
	up := upstream("up-state-1")
	s1, _, err := tab.addUpstream("carol", nasA, up, 2)
	if err != nil || len(s1) != StateLen || bytes.Contains(s1, []byte("up-state")) {
		t.Fatalf("State %x, %v", s1, err)
	}
	if _, got := tab.take(s1, "carol", nasB); got != stateOtherNAS {
		t.Errorf("other NAS: %s", got.reason())
	}
	p, got := tab.take(s1, "carol", nasA)
	if got != stateOK || p.upstream != up || p.round != 2 || p.first != nil || p.challenge != nil {
		t.Fatalf("take: %s %+v", got.reason(), p)
	}
	if _, got := tab.take(s1, "carol", nasA); got != stateUsed {
		t.Errorf("again: %s", got.reason())
	}

	// Replaced (one per user here): the continuation is wiped.
	old := upstream("up-state-2")
	if _, _, err := tab.addUpstream("carol", nasA, old, 1); err != nil {
		t.Fatal(err)
	}
	if _, replaced, err := tab.add("carol", nasA, []byte("pw"), ch); err != nil || replaced == "" {
		t.Fatalf("replacing: %q %v", replaced, err)
	}
	if old.Continuation != nil {
		t.Error("a replaced continuation is not wiped")
	}
	// Full: the refused one is wiped too.
	if _, _, err := tab.addUpstream("dave", nasA, upstream("x"), 1); err != nil {
		t.Fatal(err)
	}
	refused := upstream("up-state-3")
	if _, _, err := tab.addUpstream("erin", nasA, refused, 1); !errors.Is(err, errFull) || refused.Continuation != nil {
		t.Errorf("full: %v, continuation %q", err, refused.Continuation)
	}
	// Closed.
	last := upstream("up-state-4")
	tab2, _ := table(2, 1)
	if _, _, err := tab2.addUpstream("carol", nasA, last, 1); err != nil {
		t.Fatal(err)
	}
	tab2.close()
	if last.Continuation != nil {
		t.Error("not wiped at close")
	}
	// Printed or logged, an entry shows no continuation.
	p = &pending{upstream: upstream("up-state-5"), first: newHeldSecret(nil)}
	if s := fmt.Sprintf("%v %+v", p, p.upstream); bytes.Contains([]byte(s), []byte("up-state-5")) {
		t.Errorf("printed: %s", s)
	}
}
