package radiusd_test

import (
	"context"
	"testing"
)

// BenchmarkHandlePAP is the front door's own cost for one PAP request
// (parse, Message-Authenticator, duplicate cache, reply), with a decision
// that costs nothing.
//
//	go test -run '^$' -bench Handle -benchmem ./server/radius/radiusd/
func BenchmarkHandlePAP(b *testing.B) {
	s := newServer(b, &decider{})
	reqs := make([][]byte, 1024)
	for i := range reqs {
		reqs[i] = request(b, "alice", "pw", true)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if s.Handle(context.Background(), reqs[i%len(reqs)], nas) == nil {
			b.Fatal("no reply")
		}
	}
}
