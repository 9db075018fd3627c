package store

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestGroups(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := st.AddUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{"vpn", "admins", "empty"} {
		if err := st.AddGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddGroup(ctx, "vpn"); !errors.Is(err, ErrExists) || err.Error() != `group "vpn": already exists` {
		t.Fatalf("duplicate AddGroup = %v", err)
	}
	if err := st.AddGroup(ctx, "vpn\n"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddGroup with a control character = %v", err)
	}

	for _, m := range [][2]string{{"vpn", "bob"}, {"vpn", "alice"}, {"admins", "alice"}} {
		if err := st.AddMember(ctx, m[0], m[1]); err != nil {
			t.Fatalf("AddMember(%v): %v", m, err)
		}
	}
	if err := st.AddMember(ctx, "vpn", "alice"); !errors.Is(err, ErrExists) {
		t.Fatalf("AddMember twice = %v, want ErrExists", err)
	}
	if err := st.AddMember(ctx, "nope", "alice"); !errors.Is(err, ErrNotFound) || err.Error() != `group "nope": not found` {
		t.Fatalf("AddMember to unknown group = %v", err)
	}
	if err := st.AddMember(ctx, "vpn", "dave"); !errors.Is(err, ErrNotFound) || err.Error() != `user "dave": not found` {
		t.Fatalf("AddMember of unknown user = %v", err)
	}

	groups, err := st.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Group{
		{Name: "admins", Members: []string{"alice"}},
		{Name: "empty"},
		{Name: "vpn", Members: []string{"alice", "bob"}},
	}
	if !slices.EqualFunc(groups, want, groupEqual) {
		t.Fatalf("Groups = %+v, want %+v", groups, want)
	}
	g, err := st.Group(ctx, "vpn")
	if err != nil || !groupEqual(g, want[2]) {
		t.Fatalf("Group(vpn) = %+v, %v", g, err)
	}
	if _, err := st.Group(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Group(nope) = %v", err)
	}

	ug, err := st.UserGroups(ctx, "alice")
	if err != nil || !slices.Equal(ug, []string{"admins", "vpn"}) {
		t.Fatalf("UserGroups(alice) = %v, %v", ug, err)
	}
	if ug, err := st.UserGroups(ctx, "carol"); err != nil || len(ug) != 0 {
		t.Fatalf("UserGroups(carol) = %v, %v", ug, err)
	}
	if _, err := st.UserGroups(ctx, "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("UserGroups(dave) = %v", err)
	}
	if u, _ := st.User(ctx, "alice"); !slices.Equal(u.Groups, []string{"admins", "vpn"}) {
		t.Fatalf("User(alice).Groups = %v", u.Groups)
	}
	users, _ := st.Users(ctx)
	if !slices.Equal(users[0].Groups, []string{"admins", "vpn"}) || !slices.Equal(users[1].Groups, []string{"vpn"}) || len(users[2].Groups) != 0 {
		t.Fatalf("Users groups = %v %v %v", users[0].Groups, users[1].Groups, users[2].Groups)
	}

	// RemoveMember.
	if err := st.RemoveMember(ctx, "vpn", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveMember(ctx, "vpn", "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RemoveMember twice = %v", err)
	}
	if err := st.RemoveMember(ctx, "vpn", "dave"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("RemoveMember of unknown user = %v", err)
	}

	// Deleting a user removes memberships.
	if err := st.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.Group(ctx, "vpn"); len(g.Members) != 0 {
		t.Fatalf("vpn members after deleting alice = %v", g.Members)
	}
	var n int
	if err := st.db.QueryRow(`SELECT COUNT(*) FROM group_members`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d memberships left (%v)", n, err)
	}

	// Deleting a non-empty group is allowed and removes memberships.
	if err := st.AddMember(ctx, "admins", "carol"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGroup(ctx, "admins"); err != nil {
		t.Fatal(err)
	}
	if ug, _ := st.UserGroups(ctx, "carol"); len(ug) != 0 {
		t.Fatalf("carol still in %v", ug)
	}
	if err := st.DeleteGroup(ctx, "admins"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteGroup twice = %v", err)
	}
	groups, _ = st.Groups(ctx)
	if len(groups) != 2 {
		t.Fatalf("Groups after delete = %+v", groups)
	}
}

func groupEqual(a, b Group) bool {
	return a.Name == b.Name && slices.Equal(a.Members, b.Members)
}
