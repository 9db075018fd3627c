package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// vpnChoices are the values of a user's VPN access.
var vpnChoices = []string{"use_group", "on", "off"}

// usersData is the users page's data.
type usersData struct {
	Q      string
	Users  []User
	Groups []Group
	VPN    []string
}

// usersPage lists and searches the users, with the create-user form.
func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	us, err := c.b.Users(r.Context(), q)
	if err != nil {
		c.loadFailed(w, r, s, "users", err)
		return
	}
	gs, err := c.b.Groups(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "groups", err)
		return
	}
	c.render(w, r, &s, http.StatusOK, "users", "Users", usersData{Q: q, Users: us, Groups: gs, VPN: vpnChoices})
}

// userData is one user's page's data.
type userData struct {
	User User
	// OtherGroups are the groups the user is not in, to add to.
	OtherGroups []string
	VPN         []string
}

// userPage shows one user, with the forms that change it.
func (c *Console) userPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	u, err := c.b.User(r.Context(), r.PathValue("name"))
	if err != nil {
		c.loadFailed(w, r, s, "user "+quote(r.PathValue("name")), err)
		return
	}
	gs, err := c.b.Groups(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "groups", err)
		return
	}
	d := userData{User: u, VPN: vpnChoices}
	for _, g := range gs {
		if !slices.Contains(u.Groups, g.Name) {
			d.OtherGroups = append(d.OtherGroups, g.Name)
		}
	}
	c.render(w, r, &s, http.StatusOK, "user", "User "+u.Name, d)
}

// userURL is a user's page.
func userURL(name string) string { return "/ui/users/" + url.PathEscape(name) }

// groupURL is the path under which a group's actions are.
func groupURL(name string) string { return "/ui/groups/" + url.PathEscape(name) }

// createUser adds a user.
func (c *Console) createUser(w http.ResponseWriter, r *http.Request, s signedIn) {
	u := NewUser{
		Name:     strings.TrimSpace(r.PostFormValue("name")),
		Password: r.PostFormValue("password"),
		VPN:      r.PostFormValue("vpn"),
	}
	for _, g := range r.PostForm["groups"] {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(u.Groups, g) {
			u.Groups = append(u.Groups, g)
		}
	}
	var err error
	switch {
	case u.Name == "":
		err = invalid("a new user needs a name")
	case !slices.Contains(vpnChoices, cmpVPN(u.VPN)):
		err = invalid("VPN access must be use_group, on or off")
	default:
		if u.VPN == "use_group" {
			u.VPN = ""
		}
		err = c.b.CreateUser(r.Context(), s.Acct, u)
	}
	to := "/ui/users"
	if err == nil {
		to = userURL(u.Name)
	}
	c.done(w, r, s, to, "create user "+quote(u.Name), "Created user "+quote(u.Name)+".", err)
}

// cmpVPN is v, with "" read as use_group.
func cmpVPN(v string) string {
	if v == "" {
		return "use_group"
	}
	return v
}

// setDisabled disables or enables a user.
func (c *Console) setDisabled(disabled bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s signedIn) {
		name := r.PathValue("name")
		err := c.b.SetDisabled(r.Context(), s.Acct, name, disabled)
		what, ok := "enable user "+quote(name), "Enabled user "+quote(name)+"."
		if disabled {
			what, ok = "disable user "+quote(name), "Disabled user "+quote(name)+"."
		}
		c.done(w, r, s, userURL(name), what, ok, err)
	}
}

// setVPN sets a user's VPN access.
func (c *Console) setVPN(w http.ResponseWriter, r *http.Request, s signedIn) {
	name, vpn := r.PathValue("name"), r.PostFormValue("vpn")
	var err error
	if !slices.Contains(vpnChoices, vpn) {
		err = invalid("VPN access must be use_group, on or off")
	} else {
		err = c.b.SetVPN(r.Context(), s.Acct, name, vpn)
	}
	c.done(w, r, s, userURL(name), "set the VPN access of "+quote(name),
		"Set the VPN access of "+quote(name)+" to "+vpn+".", err)
}

// setPassword sets a user's password. An empty password is refused: a
// slip of the Enter key must not remove one.
func (c *Console) setPassword(w http.ResponseWriter, r *http.Request, s signedIn) {
	name, pw := r.PathValue("name"), r.PostFormValue("password")
	var err error
	if pw == "" {
		err = invalid("enter the new password")
	} else {
		err = c.b.SetPassword(r.Context(), s.Acct, name, pw)
	}
	c.done(w, r, s, userURL(name), "set the password of "+quote(name), "Set the password of "+quote(name)+".", err)
}

// unlock lets a locked-out user in again.
func (c *Console) unlock(w http.ResponseWriter, r *http.Request, s signedIn) {
	name := r.PathValue("name")
	err := c.b.Unlock(r.Context(), s.Acct, name)
	c.done(w, r, s, userURL(name), "unlock "+quote(name), "Unlocked "+quote(name)+".", err)
}

// userGroup adds the user to a group or removes them, from the user's
// page.
func (c *Console) userGroup(add bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s signedIn) {
		name, group := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("group"))
		what, ok, err := c.member(r, s, add, group, name)
		c.done(w, r, s, userURL(name), what, ok, err)
	}
}

// groupMember adds a user to the group or removes them, from the groups
// page.
func (c *Console) groupMember(add bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s signedIn) {
		group, name := r.PathValue("name"), strings.TrimSpace(r.PostFormValue("user"))
		what, ok, err := c.member(r, s, add, group, name)
		c.done(w, r, s, "/ui/groups", what, ok, err)
	}
}

// member changes a group membership.
func (c *Console) member(r *http.Request, s signedIn, add bool, group, user string) (what, ok string, err error) {
	switch {
	case group == "":
		err = invalid("choose a group")
	case user == "":
		err = invalid("enter a user name")
	case add:
		err = c.b.AddMember(r.Context(), s.Acct, group, user)
	default:
		err = c.b.RemoveMember(r.Context(), s.Acct, group, user)
	}
	if add {
		return "add " + quote(user) + " to group " + quote(group), "Added " + quote(user) + " to group " + quote(group) + ".", err
	}
	return "remove " + quote(user) + " from group " + quote(group), "Removed " + quote(user) + " from group " + quote(group) + ".", err
}

// groupsData is the groups page's data.
type groupsData struct {
	Groups []Group
}

// groupsPage lists the groups and their members.
func (c *Console) groupsPage(w http.ResponseWriter, r *http.Request, s signedIn) {
	gs, err := c.b.Groups(r.Context())
	if err != nil {
		c.loadFailed(w, r, s, "groups", err)
		return
	}
	c.render(w, r, &s, http.StatusOK, "groups", "Groups", groupsData{Groups: gs})
}

// createGroup adds a group.
func (c *Console) createGroup(w http.ResponseWriter, r *http.Request, s signedIn) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	var err error
	if name == "" {
		err = invalid("a new group needs a name")
	} else {
		err = c.b.CreateGroup(r.Context(), s.Acct, name)
	}
	c.done(w, r, s, "/ui/groups", "create group "+quote(name), "Created group "+quote(name)+".", err)
}
