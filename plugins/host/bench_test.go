package host_test

import (
	"testing"

	"github.com/gatehouse-vpn/gatehouse/plugins/host"
)

// The benchmarks measure one call through the host to a real plugin
// process: deadline, call slot, gRPC over a Unix socket with mutual TLS,
// the SDK's shim, and the checks of the reply.
//
//	go test -run '^$' -bench ViaPlugin -benchmem ./plugins/host/

func BenchmarkVerifyPlaintextViaPlugin(b *testing.B) {
	_, be, _ := startOne(b, spec("bench", func(s *host.Spec) { s.MaxConcurrent = 1024 }))
	pw := secret(alicePassword)
	b.ReportAllocs()
	for b.Loop() {
		v, err := be.VerifyPlaintext(ctx, "alice", pw)
		if err != nil || !v.OK {
			b.Fatalf("%+v %v", v, err)
		}
	}
}

func BenchmarkFragmentsViaPlugin(b *testing.B) {
	_, be, _ := startOne(b, spec("bench", func(s *host.Spec) { s.MaxConcurrent = 1024 }))
	b.ReportAllocs()
	for b.Loop() {
		f, err := be.Fragments(ctx, "alice")
		if err != nil || len(f) != 1 {
			b.Fatalf("%v %v", f, err)
		}
	}
}

// BenchmarkVerifyPlaintextViaPluginParallel measures throughput with many
// logins at once.
func BenchmarkVerifyPlaintextViaPluginParallel(b *testing.B) {
	_, be, _ := startOne(b, spec("bench", func(s *host.Spec) { s.MaxConcurrent = 1024 }))
	pw := secret(alicePassword)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v, err := be.VerifyPlaintext(ctx, "alice", pw)
			if err != nil || !v.OK {
				b.Errorf("%+v %v", v, err)
				return
			}
		}
	})
}
