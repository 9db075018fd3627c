package host

import (
	"testing"

	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
)

// A description cannot talk the engine out of committing one-time codes,
// nor into skipping Lookup for a plugin that has no identity to give.
func TestInfoOfDropsUnsafeFlags(t *testing.T) {
	idCap := []pluginv1.Capability{pluginv1.Capability_CAPABILITY_VERIFY_PLAINTEXT, pluginv1.Capability_CAPABILITY_IDENTITY}
	for _, c := range []struct {
		name               string
		d                  *pluginv1.DescribeResponse
		noCommit, identity bool
	}{
		{"password store", &pluginv1.DescribeResponse{Capabilities: idCap, NothingToCommit: true, IdentityInVerdicts: true}, true, true},
		{"one-time codes", &pluginv1.DescribeResponse{Capabilities: idCap, OneTime: true, NothingToCommit: true}, false, false},
		{"no identity capability", &pluginv1.DescribeResponse{Capabilities: idCap[:1], IdentityInVerdicts: true}, false, false},
		{"an older plugin", &pluginv1.DescribeResponse{Capabilities: idCap}, false, false},
	} {
		info := infoOf(c.d)
		if info.NothingToCommit != c.noCommit || info.IdentityInVerdicts != c.identity {
			t.Errorf("%s: NothingToCommit %v IdentityInVerdicts %v, want %v %v", c.name, info.NothingToCommit, info.IdentityInVerdicts, c.noCommit, c.identity)
		}
	}
}
