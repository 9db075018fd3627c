package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestRevisionsMoveOnIdentityChanges(t *testing.T) {
	ctx := context.Background()
	st := openAt(t, newLocation(t))
	rev := func() Revisions {
		t.Helper()
		r, err := st.Revisions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.AddUser(ctx, "bob"))
	must(st.AddGroup(ctx, "staff"))
	for _, step := range []struct {
		name  string
		do    func() error
		moves bool
	}{
		{"set password", func() error { return st.SetPassword(ctx, "bob", "correct horse") }, false},
		{"disable", func() error { return st.SetDisabled(ctx, "bob", true) }, true},
		{"enable", func() error { return st.SetDisabled(ctx, "bob", false) }, true},
		{"vpn off", func() error { return st.SetVPNAccess(ctx, "bob", VPNOff) }, true},
		{"join group", func() error { return st.AddMember(ctx, "staff", "bob") }, true},
		{"leave group", func() error { return st.RemoveMember(ctx, "staff", "bob") }, true},
		{"join again", func() error { return st.AddMember(ctx, "staff", "bob") }, true},
		{"delete group", func() error { return st.DeleteGroup(ctx, "staff") }, true},
		{"save lockout", func() error { return st.SaveLockout(ctx, Lockout{Name: "bob", Failures: 1, WindowStart: time.Now()}) }, false},
		{"delete user", func() error { return st.DeleteUser(ctx, "bob") }, true},
	} {
		before := rev()
		must(step.do())
		after := rev()
		if moved := after.Identity != before.Identity; moved != step.moves {
			t.Errorf("%s: identity revision %d -> %d; want moved=%v", step.name, before.Identity, after.Identity, step.moves)
		}
		if after.Lockouts != before.Lockouts {
			t.Errorf("%s moved the lockouts revision", step.name)
		}
	}
}

func TestLockoutsPersist(t *testing.T) {
	ctx := context.Background()
	path := newLocation(t)
	st := openAt(t, path)
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	locked := Lockout{Name: "bob", Failures: 10, WindowStart: t0, LockedUntil: t0.Add(15 * time.Minute)}
	counting := Lockout{Name: "no such user", Failures: 3, WindowStart: t0}
	for _, l := range []Lockout{{Name: "bob", Failures: 9, WindowStart: t0}, locked, counting} {
		if err := st.SaveLockout(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	st = openAt(t, path)
	all, err := st.Lockouts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || !all[0].LockedUntil.Equal(locked.LockedUntil) || all[0].Failures != 10 || all[1] != counting {
		t.Fatalf("after reopening: %+v; want %+v and %+v", all, locked, counting)
	}

	// Pruning keeps a lockout until it ends.
	if n, err := st.PruneLockouts(ctx, t0.Add(5*time.Minute), t0.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("prune: %d, %v; want the unlocked one only", n, err)
	}
	if _, ok, _ := st.Lockout(ctx, "bob"); !ok {
		t.Fatal("a lockout that has not ended was pruned")
	}

	before, _ := st.Revisions(ctx)
	if found, err := st.Unlock(ctx, "bob"); err != nil || !found {
		t.Fatalf("unlock: %v, %v", found, err)
	}
	after, _ := st.Revisions(ctx)
	if after.Lockouts != before.Lockouts+1 {
		t.Errorf("unlock did not move the lockouts revision: %+v -> %+v", before, after)
	}
	if found, err := st.Unlock(ctx, "bob"); err != nil || found {
		t.Errorf("second unlock: %v, %v; want nothing found", found, err)
	}
	if err := st.SaveLockout(ctx, Lockout{Name: "", WindowStart: t0}); err == nil {
		t.Error("a lockout without a name was saved")
	}
}

// TestLockoutRecordFailure: gateways sharing a store (two handles) count
// failures together. Ten failures at once, five from each, lock the name
// exactly once, and the lock moves the lockouts revision.
func TestLockoutRecordFailure(t *testing.T) {
	ctx := context.Background()
	loc := newLocation(t)
	a, b := openAt(t, loc), openAt(t, loc)
	before, err := a.Revisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var wg sync.WaitGroup
	locks := make(chan Lockout, 10)
	for i := range 10 {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			l, lockedNow, err := st.RecordFailure(ctx, "mallory", now, 10, time.Minute, time.Hour)
			if err != nil {
				t.Error(err)
			}
			if lockedNow {
				locks <- l
			}
		})
	}
	wg.Wait()
	close(locks)
	if n := len(locks); n != 1 {
		t.Fatalf("%d failures locked the name, want exactly 1", n)
	}
	if l := <-locks; l.Failures != 10 || l.LockedUntil.Sub(now.Add(time.Hour)).Abs() > time.Microsecond {
		t.Errorf("state after the lock: %+v", l)
	}
	after, err := b.Revisions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Lockouts == before.Lockouts {
		t.Error("the lock did not move the lockouts revision")
	}
	// A failure while locked changes nothing; after the lock ends a new
	// window starts.
	l, lockedNow, err := b.RecordFailure(ctx, "mallory", now.Add(time.Minute), 10, time.Minute, time.Hour)
	if err != nil || lockedNow || l.Failures != 10 {
		t.Errorf("failure while locked: %+v %v %v", l, lockedNow, err)
	}
	l, lockedNow, err = a.RecordFailure(ctx, "mallory", now.Add(2*time.Hour), 10, time.Minute, time.Hour)
	if err != nil || lockedNow || l.Failures != 1 || !l.LockedUntil.IsZero() {
		t.Errorf("failure after the lock ended: %+v %v %v", l, lockedNow, err)
	}
}
