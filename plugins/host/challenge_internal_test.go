package host

import (
	"bytes"
	"testing"

	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// TestChallengeOf: a verdict's challenge is taken only where the host
// allowed it, never on an accept, and within the size limit.
func TestChallengeOf(t *testing.T) {
	ch := &pluginv2.BackendChallenge{Message: "Code?", Continuation: []byte("up")}
	if c, err := challengeOf(&pluginv2.Verdict{Challenge: ch}, true); err != nil || c == nil || c.Message != "Code?" || !bytes.Equal(c.Continuation, []byte("up")) {
		t.Errorf("allowed: %+v %v", c, err)
	}
	if c, err := challengeOf(&pluginv2.Verdict{Challenge: ch}, false); err != nil || c != nil {
		t.Errorf("not allowed: %+v %v", c, err)
	}
	if c, err := challengeOf(&pluginv2.Verdict{}, true); err != nil || c != nil {
		t.Errorf("none: %+v %v", c, err)
	}
	if _, err := challengeOf(&pluginv2.Verdict{Ok: true, Challenge: ch}, true); err == nil {
		t.Error("an accept with a challenge is not malformed")
	}
	long := &pluginv2.BackendChallenge{Continuation: make([]byte, 1025)}
	if _, err := challengeOf(&pluginv2.Verdict{Challenge: long}, true); err == nil {
		t.Error("a continuation of 1025 bytes is not malformed")
	}
}
