package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-vpn/gatehouse/internal/store"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func newAdminCmd() *cobra.Command {
	var sf storeFlags
	c := &cobra.Command{
		Use:   "admin",
		Short: "Manage the web console's operator accounts",
		Long: `Operator accounts sign in to the web console (admin.console in the
configuration, served at /ui/ on admin.listen). They live in the local
store, apart from the users: an operator is not a VPN user, and a user
cannot sign in to the console. A viewer reads every page and changes
nothing; an operator also changes users, groups, tokens and sessions.
Every change made in the console is recorded as an "admin" event with
the operator's name (gatehouse logs --kind admin).

Passwords are kept as argon2id hashes. A running gateway sees a new
account, password or role at the next sign-in; an account removed or made
a viewer can change nothing more at once, though a console session it
already has can read on until it ends.`,
		Example: `  gatehouse admin add carol --role operator        # prompts for the password twice
  echo 's3cret' | gatehouse admin add dave --role viewer --password-stdin
  gatehouse admin list
  gatehouse admin role dave operator`,
	}
	sf.register(c)
	c.AddCommand(newAdminAddCmd(&sf), newAdminListCmd(&sf), newAdminPasswdCmd(&sf),
		storeOp(&sf, "remove NAME", "Remove an operator account", "  gatehouse admin remove dave", 1,
			func(c *cobra.Command, st *store.Store, a []string) (string, error) {
				return "operator " + a[0] + " removed", st.DeleteOperator(c.Context(), a[0])
			}),
		newAdminRoleCmd(&sf))
	return c
}

func newAdminAddCmd(sf *storeFlags) *cobra.Command {
	var (
		fromStdin bool
		role      string
	)
	c := &cobra.Command{
		Use:     "add NAME --role viewer|operator",
		Short:   "Add an operator account and set its password",
		Example: `  gatehouse admin add carol --role operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlag("role", role); err != nil {
				return err
			}
			r, err := store.ParseOperatorRole(role)
			if err != nil {
				return usagef("--role must be viewer or operator, not %q", role)
			}
			pw, err := readNewPassword(c, fromStdin)
			if err != nil {
				return err
			}
			st, cfg, err := sf.open(c.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.AddOperator(c.Context(), args[0], pw, r); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "operator %s added (%s)\n", args[0], r)
			if w := consoleOffWarning(cfg); w != "" {
				fmt.Fprintln(c.ErrOrStderr(), w)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	c.Flags().StringVar(&role, "role", "", "viewer (reads) or operator (reads and changes) (required)")
	return c
}

// consoleOffWarning says that the accounts are of no use yet when the
// configuration does not serve the console; empty when it does.
func consoleOffWarning(cfg *config.Config) string {
	if cfg.Admin.Console {
		return ""
	}
	return fmt.Sprintf("warning: admin.console is off in %s, so no one can sign in yet; set admin.console: true and restart the gateway", cfg.File)
}

func newAdminListCmd(sf *storeFlags) *cobra.Command {
	return storeOp(sf, "list", "List operator accounts (never their passwords)", "  gatehouse admin list", 0,
		func(c *cobra.Command, st *store.Store, _ []string) (string, error) {
			ops, err := st.Operators(c.Context())
			if err != nil {
				return "", err
			}
			if len(ops) == 0 {
				return "no operator accounts (gatehouse admin add NAME --role viewer|operator adds one)", nil
			}
			var b strings.Builder
			tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
			fmt.Fprint(tw, "NAME\tROLE\tCREATED\tCHANGED")
			for _, o := range ops {
				fmt.Fprintf(tw, "\n%s\t%s\t%s\t%s", o.Name, o.Role,
					o.CreatedAt.Local().Format(time.RFC3339), o.UpdatedAt.Local().Format(time.RFC3339))
			}
			tw.Flush()
			return b.String(), nil
		})
}

func newAdminPasswdCmd(sf *storeFlags) *cobra.Command {
	return passwdCmd(sf, "Set an operator account's password", "  gatehouse admin passwd carol", "password of operator %s set",
		func(ctx context.Context, st *store.Store, name, pw string) error {
			return st.SetOperatorPassword(ctx, name, pw)
		})
}

func newAdminRoleCmd(sf *storeFlags) *cobra.Command {
	c := storeOp(sf, "role NAME viewer|operator", "Change an operator account's role", "  gatehouse admin role dave operator", 2,
		func(c *cobra.Command, st *store.Store, a []string) (string, error) {
			return "operator " + a[0] + " is now " + a[1], st.SetOperatorRole(c.Context(), a[0], store.OperatorRole(a[1]))
		})
	run := c.RunE
	c.RunE = func(c *cobra.Command, args []string) error {
		if _, err := store.ParseOperatorRole(args[1]); err != nil {
			return usagef("the role must be viewer or operator, not %q", args[1])
		}
		return run(c, args)
	}
	return c
}
