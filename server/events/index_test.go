package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// newIndex opens an index at a new location of the back-end under test
// (see driver_test.go).
func newIndex(t testing.TB, opts Options) *Index {
	t.Helper()
	ix, err := openAt(newLocation(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func flush(t testing.TB, ix *Index) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ix.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func query(t testing.TB, ix *Index, f Filter) []Event {
	t.Helper()
	evs, err := ix.Query(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// labels are the Message fields of evs, which the tests use as names.
func labels(evs []Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.Message
	}
	return strings.Join(s, " ")
}

// corpus is appended in this order; Message names each event.
func corpus() []Event {
	a := netip.MustParseAddr
	return []Event{
		{Time: t0.Add(1 * time.Minute), Kind: KindLogin, Result: Accepted, FrontDoor: "pptp", Service: "vpn", User: "bob", Client: a("203.0.113.7"), SessionID: "s1", Message: "e1"},
		{Time: t0.Add(2 * time.Minute), Kind: KindLogin, Result: Refused, FrontDoor: "radius", Service: "vpn", User: "alice", Client: a("198.51.100.9"), NAS: "nas1", Message: "e2"},
		{Time: t0.Add(3 * time.Minute), Kind: KindSessionUp, FrontDoor: "pptp", Service: "vpn", User: "bob", Client: a("203.0.113.7"), SessionID: "s1", Message: "e3"},
		{Time: t0.Add(4 * time.Minute), Kind: KindSessionDown, FrontDoor: "pptp", Service: "vpn", User: "bob", Client: a("203.0.113.7"), SessionID: "s1", Message: "e4"},
		{Time: t0.Add(5 * time.Minute), Kind: KindPluginExit, Backend: "corp-ad", Message: "e5"},
		{Time: t0.Add(6 * time.Minute), Kind: KindLogin, Result: Refused, FrontDoor: "pptp", Service: "vpn", User: "bob", Client: a("2001:db8::7"), SessionID: "s2", Message: "e6"},
		{Time: t0.Add(7 * time.Minute), Kind: KindLogin, Result: Accepted, FrontDoor: "radius", Service: "wifi", User: "carol", Client: a("::ffff:203.0.113.200"), Message: "e7"},
		// Appended last, but earlier than all: queries sort by time.
		{Time: t0, Kind: KindGatewayStart, Message: "e0"},
	}
}

// TestQueryFilters appends one corpus and runs every filter field, alone
// and together, against it.
func TestQueryFilters(t *testing.T) {
	ix := newIndex(t, Options{Retention: -1})
	for _, e := range corpus() {
		ix.Append(e)
	}
	flush(t, ix)
	pfx := netip.MustParsePrefix
	for _, tc := range []struct {
		name string
		f    Filter
		want string
	}{
		{"all", Filter{}, "e0 e1 e2 e3 e4 e5 e6 e7"},
		{"user", Filter{User: "bob"}, "e1 e3 e4 e6"},
		{"user is exact", Filter{User: "Bob"}, ""},
		{"client address", Filter{Client: pfx("203.0.113.7/32")}, "e1 e3 e4"},
		{"client prefix, mapped address counts as IPv4", Filter{Client: pfx("203.0.113.0/24")}, "e1 e3 e4 e7"},
		{"client IPv6", Filter{Client: pfx("2001:db8::/32")}, "e6"},
		{"client everything IPv4", Filter{Client: pfx("0.0.0.0/0")}, "e1 e2 e3 e4 e7"},
		{"session", Filter{SessionID: "s1"}, "e1 e3 e4"},
		{"kinds", Filter{Kinds: []Kind{KindSessionUp, KindSessionDown}}, "e3 e4"},
		{"result", Filter{Result: Refused}, "e2 e6"},
		{"service", Filter{Service: "wifi"}, "e7"},
		{"front door", Filter{FrontDoor: "radius"}, "e2 e7"},
		{"since inclusive", Filter{Since: t0.Add(6 * time.Minute)}, "e6 e7"},
		{"until exclusive", Filter{Until: t0.Add(2 * time.Minute)}, "e0 e1"},
		{"since and until", Filter{Since: t0.Add(2 * time.Minute), Until: t0.Add(4 * time.Minute)}, "e2 e3"},
		{"limit keeps the newest, in time order", Filter{Limit: 3}, "e5 e6 e7"},
		{"together", Filter{User: "bob", Kinds: []Kind{KindLogin}, Result: Refused, Client: pfx("2001:db8::/64")}, "e6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := query(t, ix, tc.f)
			if labels(got) != tc.want {
				t.Errorf("got %q, want %q", labels(got), tc.want)
			}
			// Match, which Follow uses, must agree with the SQL.
			var m []Event
			for _, e := range corpus() {
				if tc.f.Match(&e) {
					m = append(m, e)
				}
			}
			slices.SortStableFunc(m, func(a, b Event) int { return a.Time.Compare(b.Time) })
			if tc.f.Limit > 0 && len(m) > tc.f.Limit {
				m = m[len(m)-tc.f.Limit:]
			}
			if labels(m) != tc.want {
				t.Errorf("Match selects %q, want %q", labels(m), tc.want)
			}
		})
	}
	// What went in comes out.
	got := query(t, ix, Filter{SessionID: "s2"})
	want := corpus()[5]
	if len(got) != 1 || got[0].Client != want.Client || !got[0].Time.Equal(want.Time) || got[0].Kind != want.Kind {
		t.Errorf("stored %+v, got back %+v", want, got)
	}
}

// TestQueryAgreesWithMatch runs random filters over random events: the
// SQL of Query and the Go of Match (used by Follow) select the same ones.
func TestQueryAgreesWithMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(s ...string) string { return s[rng.IntN(len(s))] }
	addrs := []netip.Addr{{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.1.1"), netip.MustParseAddr("10.200.0.1"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:1::1"), netip.MustParseAddr("::ffff:10.0.0.9")}
	prefixes := []netip.Prefix{{}, netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("2001:db8::/48"), netip.MustParsePrefix("::/0"), netip.MustParsePrefix("10.0.0.1/32")}
	var all []Event
	ix := newIndex(t, Options{Retention: -1})
	for i := range 400 {
		e := Event{
			Time: t0.Add(time.Duration(rng.IntN(200)) * time.Second), Kind: Kind(1 + rng.IntN(numKinds-1)),
			Result: Result(pick("", "accepted", "refused")), FrontDoor: pick("", "pptp", "radius"),
			Service: pick("", "vpn", "wifi"), User: pick("", "bob", "alice", "carol"), SessionID: pick("", "s1", "s2"),
			Client: addrs[rng.IntN(len(addrs))], Message: fmt.Sprint(i),
		}
		all = append(all, e)
		ix.Append(e)
	}
	flush(t, ix)
	slices.SortStableFunc(all, func(a, b Event) int { return a.Time.Compare(b.Time) })
	for i := range 300 {
		f := Filter{
			User: pick("", "bob", "alice"), SessionID: pick("", "", "s1"), Result: Result(pick("", "accepted", "refused")),
			Service: pick("", "", "vpn"), FrontDoor: pick("", "", "radius"), Client: prefixes[rng.IntN(len(prefixes))],
			Limit: []int{0, 5, 50}[rng.IntN(3)],
		}
		for range rng.IntN(3) {
			f.Kinds = append(f.Kinds, Kind(1+rng.IntN(numKinds-1)))
		}
		if rng.IntN(2) == 0 {
			f.Since = t0.Add(time.Duration(rng.IntN(200)) * time.Second)
		}
		if rng.IntN(2) == 0 {
			f.Until = t0.Add(time.Duration(rng.IntN(200)) * time.Second)
		}
		var want []Event
		for _, e := range all {
			if f.Match(&e) {
				want = append(want, e)
			}
		}
		if n := f.limit(); len(want) > n {
			want = want[len(want)-n:]
		}
		if got := query(t, ix, f); labels(got) != labels(want) {
			t.Fatalf("filter %d %+v:\nQuery %q\nMatch %q", i, f, labels(got), labels(want))
		}
	}
}

// TestRetention proves events older than the retention are deleted, by
// Prune and by Open, against an injected clock.
func TestRetention(t *testing.T) {
	clk := newClock(t0)
	loc := newLocation(t)
	ix, err := openAt(loc, Options{Retention: 24 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ix.Append(Event{Time: t0.Add(-25 * time.Hour), Kind: KindReload, Message: "too old"})
	ix.Append(Event{Time: t0.Add(-23 * time.Hour), Kind: KindReload, Message: "yesterday"})
	ix.Append(Event{Kind: KindReload, Message: "now"}) // stamped by the clock
	if err := ix.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := labels(query(t, ix, Filter{})); got != "yesterday now" {
		t.Fatalf("after pruning at %v: %q", clk.Now(), got)
	}
	if st := ix.Stats(); st.Pruned != 1 || st.Written != 3 {
		t.Errorf("stats %+v; want 3 written, 1 pruned", st)
	}
	clk.Advance(2 * time.Hour)
	if err := ix.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := labels(query(t, ix, Filter{})); got != "now" {
		t.Fatalf("2h later: %q", got)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	// Open prunes at once, before any later request.
	clk.Advance(48 * time.Hour)
	ix, err = openAt(loc, Options{Retention: 24 * time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	flush(t, ix)
	if got := query(t, ix, Filter{}); len(got) != 0 {
		t.Errorf("after reopening 2 days later: %q", labels(got))
	}
}

// TestSizeBound proves the oldest events go when the index outgrows
// MaxBytes, that the newest stay, and that the file shrinks.
func TestSizeBound(t *testing.T) {
	const maxBytes = 256 << 10
	path := filepath.Join(t.TempDir(), "events.db")
	ix, err := Open(path, Options{MaxBytes: maxBytes, Retention: -1})
	if err != nil {
		t.Fatal(err)
	}
	var vacuum int
	if err := ix.db.QueryRow(`PRAGMA auto_vacuum`).Scan(&vacuum); err != nil || vacuum != 2 {
		t.Errorf("auto_vacuum is %d (%v); want 2, incremental, so pruning shrinks the file", vacuum, err)
	}
	const n = 3000 // about 1 KiB each: ten times the bound
	pad := strings.Repeat("x", 900)
	for i := range n {
		ix.Append(Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: KindLogin, User: fmt.Sprintf("user%d", i%50),
			SessionID: fmt.Sprint(i), Message: fmt.Sprintf("%d %s", i, pad)})
		if i%500 == 0 {
			flush(t, ix)
		}
	}
	if err := ix.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := ix.Stats()
	if st.Bytes > maxBytes || st.Bytes == 0 {
		t.Errorf("events take %d bytes after pruning; the bound is %d", st.Bytes, maxBytes)
	}
	got := query(t, ix, Filter{Limit: MaxLimit})
	if len(got) == 0 || len(got) >= n {
		t.Fatalf("%d events left of %d", len(got), n)
	}
	t.Logf("%d events appended, %d pruned, %d left in %d bytes", n, st.Pruned, len(got), st.Bytes)
	if int(st.Pruned)+len(got) != n {
		t.Errorf("%d pruned + %d left != %d appended", st.Pruned, len(got), n)
	}
	if last := got[len(got)-1].SessionID; last != fmt.Sprint(n-1) {
		t.Errorf("newest event left is %s, want %d", last, n-1)
	}
	if first := got[0].SessionID; first != fmt.Sprint(n-len(got)) {
		t.Errorf("oldest event left is %s, want %d: pruning must take the oldest", first, n-len(got))
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("file size after Close: %d bytes", fi.Size())
	if fi.Size() > maxBytes {
		t.Errorf("file is %d bytes after Close; the bound is %d", fi.Size(), maxBytes)
	}
	if _, err := Open(path, Options{MaxBytes: MinMaxBytes - 1}); err == nil {
		t.Error("Open accepted a size bound below MinMaxBytes")
	}
}

// stalled opens an index whose writer waits until release is called.
func stalled(t *testing.T, buffer int) (ix *Index, release func()) {
	gate := make(chan struct{})
	var once bool
	ix = newIndex(t, Options{Buffer: buffer, Retention: -1, beforeBatch: func() { <-gate }})
	return ix, func() {
		if !once {
			once = true
			close(gate)
		}
	}
}

// TestAppendNeverBlocks stalls the writer, fills the queue and appends
// past it: Append returns every time and counts what it dropped.
func TestAppendNeverBlocks(t *testing.T) {
	const buffer, extra = 16, 100
	ix, release := stalled(t, buffer)
	defer release()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range buffer + extra {
			ix.Append(Event{Kind: KindLogin, Message: fmt.Sprint(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Append blocked while the writer was stuck")
	}
	if st := ix.Stats(); st.Appended != buffer || st.Dropped != extra || st.Queued != buffer {
		t.Errorf("stats %+v; want %d appended and queued, %d dropped", st, buffer, extra)
	}
	release()
	flush(t, ix)
	got := query(t, ix, Filter{})
	if len(got) != buffer || got[0].Message != "0" || got[buffer-1].Message != fmt.Sprint(buffer-1) {
		t.Errorf("index holds %q; want the first %d", labels(got), buffer)
	}
	if st := ix.Stats(); st.Written != buffer {
		t.Errorf("written %d, want %d", st.Written, buffer)
	}
}

// TestAppendAllocs pins that Append allocates nothing: it runs on the
// login path.
func TestAppendAllocs(t *testing.T) {
	ix, release := stalled(t, 4096)
	defer release()
	e := Event{Time: t0, Kind: KindLogin, User: "bob", Branches: []BranchOutcome{{Branch: "A", Outcome: "accepted"}}}
	if n := testing.AllocsPerRun(1000, func() { ix.Append(e) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
	if n := testing.AllocsPerRun(1000, func() { ix.Append(e) }); n != 0 { // queue full: the drop path
		t.Errorf("Append (dropping) allocates %v times", n)
	}
}

// TestReopen proves events survive Close and Open, and that the ids
// carry on (followers rely on that).
func TestReopen(t *testing.T) {
	loc := newLocation(t)
	ix, err := openAt(loc, Options{Retention: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range corpus() {
		ix.Append(e)
	}
	if err := ix.Close(); err != nil { // Close flushes
		t.Fatal(err)
	}
	ix.Append(Event{Kind: KindReload}) // after Close: dropped, no panic
	if st := ix.Stats(); st.Dropped != 1 || st.Written != uint64(len(corpus())) {
		t.Errorf("stats after Close %+v", st)
	}
	if err := ix.Flush(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}

	ix, err = openAt(loc, Options{Retention: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got := labels(query(t, ix, Filter{})); got != "e0 e1 e2 e3 e4 e5 e6 e7" {
		t.Errorf("after reopening: %q", got)
	}
	if id := ix.followers.lastID; id != int64(len(corpus())) {
		t.Errorf("last id %d after reopening, want %d", id, len(corpus()))
	}
}

// TestUnusableFile proves a damaged or foreign file gives ErrCorrupt, a
// newer schema ErrSchemaTooNew, and that the gateway can go on with a nil
// index.
func TestUnusableFile(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 400)), 0o600)
	ix, err := Open(garbage, Options{})
	if !errors.Is(err, ErrCorrupt) || ix != nil {
		t.Errorf("Open(garbage) = %v, %v; want ErrCorrupt", ix, err)
	}

	newer := filepath.Join(dir, "newer.db")
	ix, err = Open(newer, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if _, err := Open(newer, Options{}); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open(newer) = %v, want ErrSchemaTooNew", err)
	}

	// The gateway runs on with a nil index.
	var none *Index
	none.Append(Event{Kind: KindLogin})
	if _, err := none.Query(context.Background(), Filter{}); !errors.Is(err, ErrNoIndex) {
		t.Errorf("nil Query: %v", err)
	}
	if _, ok := <-none.Follow(context.Background(), Filter{}); ok {
		t.Error("nil Follow delivered an event")
	}
	if none.Close() != nil || none.Stats() != (Stats{}) || none.Flush(context.Background()) != ErrNoIndex || none.Path() != "" {
		t.Error("a nil index misbehaves")
	}
}

// TestInvalidKind proves an event without a kind is counted, not stored.
func TestInvalidKind(t *testing.T) {
	ix := newIndex(t, Options{})
	ix.Append(Event{User: "bob"})
	ix.Append(Event{Kind: numKinds})
	flush(t, ix)
	if st := ix.Stats(); st.Invalid != 2 || st.Written != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestFollow proves new matching events reach a follower, in order, and
// others do not.
func TestFollow(t *testing.T) {
	ix := newIndex(t, Options{Retention: -1})
	ctx, cancel := context.WithCancel(context.Background())
	ch := ix.Follow(ctx, Filter{User: "bob"})
	for _, e := range corpus() {
		ix.Append(e)
	}
	var got []Event
	for len(got) < 4 {
		got = append(got, recv(t, ch))
	}
	if labels(got) != "e1 e3 e4 e6" {
		t.Errorf("followed %q", labels(got))
	}
	cancel()
	for e := range ch {
		t.Errorf("after cancel: %+v", e)
	}
}

func recv(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case e, ok := <-ch:
		if !ok {
			t.Fatal("follow channel closed")
		}
		return e
	case <-time.After(time.Minute):
		t.Fatal("no event within a minute")
	}
	panic("unreachable")
}

// TestFollowSince proves a follower with Since gets the stored events and
// then the new ones, without a gap or a repeat, even while appends go on.
func TestFollowSince(t *testing.T) {
	ix := newIndex(t, Options{Retention: -1})
	const before, during = 300, 300
	for i := range before {
		ix.Append(Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindLogin, Message: fmt.Sprint(i)})
	}
	flush(t, ix)
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for i := before; i < before+during; i++ {
			ix.Append(Event{Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindLogin, Message: fmt.Sprint(i)})
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := ix.Follow(ctx, Filter{Since: t0, Limit: MaxLimit})
	<-stop
	for i := range before + during {
		if e := recv(t, ch); e.Message != fmt.Sprint(i) {
			t.Fatalf("event %d is %q", i, e.Message)
		}
	}
}

// TestFollowCutOff proves a follower that does not read is cut off rather
// than stalling the writer, and that Close ends every follower.
func TestFollowCutOff(t *testing.T) {
	ix := newIndex(t, Options{Retention: -1})
	slow := ix.Follow(context.Background(), Filter{})
	idle := ix.Follow(context.Background(), Filter{User: "nobody"})
	const n = followBuffer * 3
	for i := range n {
		ix.Append(Event{Kind: KindLogin, Message: fmt.Sprint(i)})
		if i%1000 == 0 {
			flush(t, ix)
		}
	}
	flush(t, ix)
	if st := ix.Stats(); st.Written != n || st.FollowersCut != 1 {
		t.Errorf("stats %+v; want %d written, 1 follower cut", st, n)
	}
	got := 0
	for range slow {
		got++
	}
	if got == 0 || got >= n {
		t.Errorf("the slow follower received %d of %d events before it was cut", got, n)
	}
	ix.Close()
	if _, ok := <-idle; ok {
		t.Error("a follower got an event that does not match")
	}
	if _, ok := <-ix.Follow(context.Background(), Filter{}); ok {
		t.Error("Follow after Close delivered")
	}
}

// BenchmarkAppend measures the index end to end: events appended and
// committed per second (Flush every 1024, so nothing is dropped).
func BenchmarkAppend(b *testing.B) {
	ix := newIndex(b, Options{Retention: -1, Buffer: 4096})
	e := sampleEvents()[1]
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ix.Append(e)
		if i%1024 == 1023 {
			flush(b, ix)
		}
	}
	flush(b, ix)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	if st := ix.Stats(); st.Dropped != 0 {
		b.Errorf("%d dropped", st.Dropped)
	}
}

// TestWriteErrors proves a batch that cannot be written is counted as
// lost and logged once a minute at most, and that the writer carries on.
func TestWriteErrors(t *testing.T) {
	var logged strings.Builder
	clk := newClock(t0)
	ix := newIndex(t, Options{Log: slog.New(slog.NewTextHandler(&logged, nil)), Now: clk.Now})
	if _, err := ix.db.Exec(`ALTER TABLE events RENAME TO gone`); err != nil {
		t.Fatal(err)
	}
	ix.Append(Event{Kind: KindLogin})
	flush(t, ix)
	ix.Append(Event{Kind: KindLogin})
	flush(t, ix)
	if st := ix.Stats(); st.Lost != 2 || st.Written != 0 {
		t.Errorf("stats %+v; want 2 lost", st)
	}
	if n := strings.Count(logged.String(), "cannot write events"); n != 1 {
		t.Errorf("logged %d times:\n%s", n, logged.String())
	}
	if _, err := ix.db.Exec(`ALTER TABLE gone RENAME TO events`); err != nil {
		t.Fatal(err)
	}
	ix.Append(Event{Kind: KindLogin})
	flush(t, ix)
	if st := ix.Stats(); st.Written != 1 {
		t.Errorf("stats %+v; the writer did not carry on", st)
	}
}
