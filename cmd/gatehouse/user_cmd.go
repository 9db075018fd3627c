package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func newUserCmd() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "user",
		Short: "Manage users of the local store (the Password back-end)",
		Long: `Users of the local store: the back-end of type "local" (Password in the
examples). Passwords are kept as an argon2id hash for plaintext checks and
sealed (AES-GCM under store.key_file) so that they can be combined with a
one-time code under MS-CHAPv2.`,
		Example: `  gatehouse user add alice                      # prompts for the password twice
  echo 's3cret' | gatehouse user add bob --password-stdin --group vpn-users
  gatehouse user vpn bob on                     # use_group | on | off
  gatehouse user list`,
	}
	sf.register(c)
	c.AddCommand(newUserAddCmd(&sf), newUserPasswdCmd(&sf), newUserToggleCmd(&sf, "disable", true),
		newUserToggleCmd(&sf, "enable", false), newUserDeleteCmd(&sf), newUserListCmd(&sf),
		newUserShowCmd(&sf), newUserVPNCmd(&sf), newUserUnlockCmd(&sf))
	return c
}

func newUserUnlockCmd(sf *storeFlags) *cobra.Command {
	c := storeOp(sf, "unlock NAME", "End a user's lockout and forget their failed logins", "  gatehouse user unlock bob", 1,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			found, err := st.Unlock(c.Context(), a[0])
			if err != nil || found {
				return "user " + a[0] + " unlocked", err
			}
			return "user " + a[0] + " had no failed logins recorded", nil
		})
	c.Long = `After lockout.threshold failed logins within lockout.window a user
name is refused for lockout.duration. unlock ends that at once; a running
gateway notices within a second. Any name can be unlocked, also one the
local store does not have (an LDAP or RADIUS user).`
	return c
}

func newUserAddCmd(sf *storeFlags) *cobra.Command {
	var (
		fromStdin, noPassword bool
		groups                []string
		vpn                   string
	)
	c := &cobra.Command{
		Use:     "add NAME",
		Short:   "Add a user and set their password",
		Example: `  gatehouse user add alice --group vpn-users`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			name := args[0]
			var pw string
			if !noPassword {
				var err error
				if pw, err = readNewPassword(c, fromStdin); err != nil {
					return err
				}
			}
			st, cfg, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := addUser(c.Context(), st, newUser{name: name, password: pw, groups: groups, vpn: vpn}); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "user %s added\n", name)
			if w := unusedStoreWarning(cfg, "user "+name+" is in", config.BackendLocal); w != "" {
				fmt.Fprintln(c.ErrOrStderr(), w)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	c.Flags().BoolVar(&noPassword, "no-password", false, "add the user without a password")
	c.Flags().StringSliceVar(&groups, "group", nil, "add the user to this group (repeatable; the group must exist)")
	c.Flags().StringVar(&vpn, "vpn", "", "VPN access: use_group, on or off (default use_group)")
	return c
}

// newUser is a user to add, as "user add" and the console's form ask.
type newUser struct {
	name     string
	password string // "" for none
	groups   []string
	vpn      string // "" for use_group
}

// addUser adds u to the store with its password, groups and VPN access.
// The VPN access and the groups are checked before anything is written,
// and a step that fails after the user was created removes the user
// again: a failure leaves no half-made user behind.
func addUser(ctx context.Context, st *store.Store, u newUser) error {
	if m := store.VPNAccess(u.vpn); m != "" && m != store.VPNUseGroup && m != store.VPNOn && m != store.VPNOff {
		return fmt.Errorf("user %q: VPN access %q: %w: want use_group, on or off", u.name, u.vpn, store.ErrInvalid)
	}
	for _, g := range u.groups {
		if _, err := st.Group(ctx, g); err != nil {
			return err
		}
	}
	if err := st.AddUser(ctx, u.name); err != nil {
		return err
	}
	err := func() error {
		if u.password != "" {
			if err := st.SetPassword(ctx, u.name, u.password); err != nil {
				return err
			}
		}
		for _, g := range u.groups {
			if err := st.AddMember(ctx, g, u.name); err != nil {
				return err
			}
		}
		if u.vpn != "" {
			return st.SetVPNAccess(ctx, u.name, store.VPNAccess(u.vpn))
		}
		return nil
	}()
	if err != nil {
		_ = st.DeleteUser(context.WithoutCancel(ctx), u.name)
		return err
	}
	return nil
}

func newUserPasswdCmd(sf *storeFlags) *cobra.Command {
	return passwdCmd(sf, "Set a user's password", "  gatehouse user passwd alice", "password of %s set",
		func(ctx context.Context, st *store.Store, name, pw string) error {
			return st.SetPassword(ctx, name, pw)
		})
}

// passwdCmd is a "passwd NAME" command: it reads a new password (twice
// from the terminal, or the first line of standard input) and hands it to
// set; done is printed with the name on success.
func passwdCmd(sf *storeFlags, short, example, done string, set func(ctx context.Context, st *store.Store, name, pw string) error) *cobra.Command {
	var fromStdin bool
	c := &cobra.Command{
		Use:     "passwd NAME",
		Short:   short,
		Example: example,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			pw, err := readNewPassword(c, fromStdin)
			if err != nil {
				return err
			}
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := set(c.Context(), st, args[0], pw); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), done+"\n", args[0])
			return nil
		},
	}
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	return c
}

func newUserListCmd(sf *storeFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List users",
		Example: `  gatehouse user list`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			users, err := st.Users(c.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tVPN\tPASSWORD\tGROUPS")
			for _, u := range users {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, state(u), u.VPNAccess, yesNo(u.HasPassword), strings.Join(u.Groups, ","))
			}
			return tw.Flush()
		},
	}
}

func newUserShowCmd(sf *storeFlags) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show a user, their groups and tokens",
		Example: `  gatehouse user show alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			st, _, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.User(c.Context(), args[0])
			if err != nil {
				return err
			}
			tokens, err := st.Tokens(c.Context(), store.TokenFilter{User: u.Name})
			if err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "name:      %s\nstate:     %s\nvpn:       %s\npassword:  %s\ngroups:    %s\ncreated:   %s\nupdated:   %s\n",
				u.Name, state(u), u.VPNAccess, yesNo(u.HasPassword), strings.Join(u.Groups, ", "),
				u.CreatedAt.Format(time.RFC3339), u.UpdatedAt.Format(time.RFC3339))
			for _, t := range tokens {
				fmt.Fprintf(w, "token:     %s (%s %s, %d digits)\n", t.Serial, t.Source, t.Kind, t.Digits)
			}
			if l, ok, err := st.Lockout(c.Context(), u.Name); err != nil {
				return err
			} else if ok {
				if time.Now().Before(l.LockedUntil) {
					fmt.Fprintf(w, "lockout:   locked until %s (%d failed logins; gatehouse user unlock %s)\n",
						l.LockedUntil.Local().Format(time.RFC3339), l.Failures, u.Name)
				} else {
					fmt.Fprintf(w, "lockout:   %d failed logins since %s\n", l.Failures, l.WindowStart.Local().Format(time.RFC3339))
				}
			}
			return nil
		},
	}
}

func state(u store.User) string {
	if u.Disabled {
		return "disabled"
	}
	return "enabled"
}

func yesNo(b bool) string {
	if b {
		return "set"
	}
	return "none"
}

// readNewPassword reads a new password: twice without echo from the
// terminal, or once from the first line of standard input.
func readNewPassword(c *cobra.Command, fromStdin bool) (string, error) {
	in := c.InOrStdin()
	if fromStdin {
		return readStdinLine(in, "password")
	}
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usagef("standard input is not a terminal: pass --password-stdin to read the password from it")
	}
	read := func(prompt string) (string, error) {
		fmt.Fprint(c.ErrOrStderr(), prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.ErrOrStderr())
		return string(b), err
	}
	pw, err := read("Password: ")
	if err != nil {
		return "", err
	}
	again, err := read("Password again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the passwords differ")
	}
	if pw == "" {
		return "", errors.New("empty password")
	}
	return pw, nil
}

func newUserToggleCmd(sf *storeFlags, verb string, disabled bool) *cobra.Command {
	return storeOp(sf, verb+" NAME", strings.ToUpper(verb[:1])+verb[1:]+" a user", "  gatehouse user "+verb+" bob", 1,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "user " + a[0] + " " + verb + "d", st.SetDisabled(c.Context(), a[0], disabled)
		})
}

func newUserDeleteCmd(sf *storeFlags) *cobra.Command {
	return storeOp(sf, "delete NAME", "Delete a user (their tokens become unassigned)", "  gatehouse user delete bob", 1,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "user " + a[0] + " deleted", st.DeleteUser(c.Context(), a[0])
		})
}

func newUserVPNCmd(sf *storeFlags) *cobra.Command {
	c := storeOp(sf, "vpn NAME use_group|on|off", "Set a user's VPN access", "  gatehouse user vpn carol on", 2,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "VPN access of " + a[0] + ": " + a[1], st.SetVPNAccess(c.Context(), a[0], store.VPNAccess(a[1]))
		})
	c.Long = `A user's VPN access: "use_group" follows the groups' grants
(pptp.access.groups in the configuration), "on" and "off" override them.`
	run := c.RunE
	c.RunE = func(c *cobra.Command, args []string) error {
		if m := store.VPNAccess(args[1]); m != store.VPNUseGroup && m != store.VPNOn && m != store.VPNOff {
			return usagef("VPN access must be use_group, on or off, not %q", args[1])
		}
		return run(c, args)
	}
	return c
}

// unusedStoreWarning returns a warning when no service's policy names a
// back-end of one of types: what the command just wrote to the store is
// then used by no login (the quickstart's memory back-ends, say). Empty
// when some policy uses one.
func unusedStoreWarning(cfg *config.Config, what string, types ...config.BackendType) string {
	for _, s := range cfg.Services.All() {
		if s == nil {
			continue
		}
		e, err := authpolicy.Parse(s.Policy)
		if err != nil {
			continue
		}
		for _, n := range authpolicy.Names(e) {
			if b, ok := cfg.Backends.Get(n.Name); ok && b != nil && slices.Contains(types, b.Type) {
				return ""
			}
		}
	}
	kinds := make([]string, len(types))
	for i, t := range types {
		kinds[i] = "type: " + string(t)
	}
	return fmt.Sprintf("warning: %s the store, but no service's policy in %s uses a back-end of %s, so no login reads it; add one to backends and name it in a policy (see gatehouse config check)",
		what, cfg.File, strings.Join(kinds, " or "))
}
