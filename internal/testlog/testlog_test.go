package testlog

import (
	"log/slog"
	"sync"
	"testing"
)

func TestBuffer(t *testing.T) {
	var b Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { log.Info("hello", "i", i) })
	}
	wg.Wait()
	b.Write([]byte("not json\n"))
	log.Info("other")
	if got := len(b.Entries("hello")); got != 8 {
		t.Fatalf("%d hello entries, want 8:\n%s", got, b.String())
	}
	if e := b.Entries("other"); len(e) != 1 || e[0]["level"] != "INFO" {
		t.Fatalf("other: %v", e)
	}
}
