package channel

import (
	"context"
	"testing"
)

// In-process benchmarks of the channel alone (both ends in this process,
// on a socket pair); plugins/host measures it between processes.
//
//	go test -run '^$' -bench . -benchmem ./plugins/internal/channel/

func BenchmarkCall(b *testing.B) {
	c, _, _ := start(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify(ctx, c, "alice", "pw"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallel(b *testing.B) {
	c, _, _ := start(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := verify(ctx, c, "alice", "pw"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	s := c.Stats()
	b.ReportMetric(float64(s.Frames)/float64(s.Writes), "frames/write")
}
