package host

import (
	"testing"

	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// A description cannot talk the engine out of committing one-time codes,
// nor into skipping Lookup for a plugin that has no identity to give.
func TestInfoOfDropsUnsafeFlags(t *testing.T) {
	idCap := []pluginv2.Capability{pluginv2.Capability_CAPABILITY_VERIFY_PLAINTEXT, pluginv2.Capability_CAPABILITY_IDENTITY}
	for _, c := range []struct {
		name               string
		d                  *pluginv2.DescribeResponse
		noCommit, identity bool
	}{
		{"password store", &pluginv2.DescribeResponse{Capabilities: idCap, NothingToCommit: true, IdentityInVerdicts: true}, true, true},
		{"one-time codes", &pluginv2.DescribeResponse{Capabilities: idCap, OneTime: true, NothingToCommit: true}, false, false},
		{"no identity capability", &pluginv2.DescribeResponse{Capabilities: idCap[:1], IdentityInVerdicts: true}, false, false},
		{"an older plugin", &pluginv2.DescribeResponse{Capabilities: idCap}, false, false},
	} {
		info := infoOf(c.d)
		if info.NothingToCommit != c.noCommit || info.IdentityInVerdicts != c.identity {
			t.Errorf("%s: NothingToCommit %v IdentityInVerdicts %v, want %v %v", c.name, info.NothingToCommit, info.IdentityInVerdicts, c.noCommit, c.identity)
		}
	}
}
