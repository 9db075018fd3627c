package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestUsers(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)

	before := time.Now().Add(-time.Second)
	for _, name := range []string{"carol", "alice", "bob"} {
		if err := st.AddUser(ctx, name); err != nil {
			t.Fatalf("AddUser(%q): %v", name, err)
		}
	}
	err := st.AddUser(ctx, "alice")
	if !errors.Is(err, ErrExists) || err.Error() != `user "alice": already exists` {
		t.Fatalf("duplicate AddUser = %v", err)
	}
	if err := st.AddUser(ctx, " alice"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddUser with a leading space = %v, want ErrInvalid", err)
	}

	u, err := st.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.Disabled || u.VPNAccess != VPNUseGroup || len(u.Groups) != 0 || u.HasPassword {
		t.Fatalf("new user = %+v", u)
	}
	if u.CreatedAt.Before(before) || u.CreatedAt.After(time.Now()) || !u.UpdatedAt.Equal(u.CreatedAt) {
		t.Fatalf("timestamps = %v, %v", u.CreatedAt, u.UpdatedAt)
	}

	_, err = st.User(ctx, "dave")
	if !errors.Is(err, ErrNotFound) || err.Error() != `user "dave": not found` {
		t.Fatalf("User(dave) = %v", err)
	}
	if _, err := st.User(ctx, "Alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("names are case-sensitive: User(Alice) = %v", err)
	}

	users, err := st.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	if !slices.Equal(names, []string{"alice", "bob", "carol"}) {
		t.Fatalf("Users = %v, want sorted", names)
	}

	// Disabled.
	if err := st.SetDisabled(ctx, "bob", true); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "bob"); !u.Disabled {
		t.Fatalf("after SetDisabled(true): %+v", u)
	}
	if err := st.SetDisabled(ctx, "bob", false); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.User(ctx, "bob"); u.Disabled {
		t.Fatal("SetDisabled(false) did not enable")
	}
	if err := st.SetDisabled(ctx, "dave", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetDisabled(dave) = %v", err)
	}

	// VPN access.
	for _, mode := range []VPNAccess{VPNOn, VPNOff, VPNUseGroup} {
		if err := st.SetVPNAccess(ctx, "carol", mode); err != nil {
			t.Fatal(err)
		}
		if u, _ := st.User(ctx, "carol"); u.VPNAccess != mode {
			t.Fatalf("VPNAccess = %q, want %q", u.VPNAccess, mode)
		}
	}
	for _, mode := range []VPNAccess{"", "ON", "yes", "use group"} {
		if err := st.SetVPNAccess(ctx, "carol", mode); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetVPNAccess(%q) = %v, want ErrInvalid", mode, err)
		}
	}
	if err := st.SetVPNAccess(ctx, "dave", VPNOn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetVPNAccess(dave) = %v", err)
	}

	// Delete.
	if err := st.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.User(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user still there: %v", err)
	}
	if err := st.DeleteUser(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteUser twice = %v", err)
	}
	// The name can be reused.
	if err := st.AddUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
}

func TestUsersEmpty(t *testing.T) {
	users, err := newStore(t).Users(context.Background())
	if err != nil || len(users) != 0 {
		t.Fatalf("Users on an empty store = %v, %v", users, err)
	}
}

func TestUpdatedAt(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	clock := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	now = func() time.Time { return clock }
	t.Cleanup(func() { now = time.Now })

	if err := st.AddUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroup(ctx, "vpn"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"SetDisabled", func() error { return st.SetDisabled(ctx, "alice", true) }},
		{"SetVPNAccess", func() error { return st.SetVPNAccess(ctx, "alice", VPNOn) }},
		{"SetPassword", func() error { return st.SetPassword(ctx, "alice", "pw") }},
		{"ClearPassword", func() error { return st.ClearPassword(ctx, "alice") }},
		{"AddMember", func() error { return st.AddMember(ctx, "vpn", "alice") }},
		{"RemoveMember", func() error { return st.RemoveMember(ctx, "vpn", "alice") }},
		{"DeleteGroup", func() error {
			if err := st.AddMember(ctx, "vpn", "alice"); err != nil {
				return err
			}
			clock = clock.Add(time.Hour)
			return st.DeleteGroup(ctx, "vpn")
		}},
	}
	for _, s := range steps {
		clock = clock.Add(time.Hour)
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		u, err := st.User(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !u.UpdatedAt.Equal(clock) {
			t.Errorf("%s: UpdatedAt = %v, want %v", s.name, u.UpdatedAt, clock)
		}
		if !u.CreatedAt.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("%s: CreatedAt changed to %v", s.name, u.CreatedAt)
		}
	}
}
