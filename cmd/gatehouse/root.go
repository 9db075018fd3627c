package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

const (
	groupGateway = "gateway"
	groupPolicy  = "policy"
	groupUsers   = "users"
)

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "gatehouse",
		Short: "Gatehouse: a PPTP and RADIUS authentication gateway with a policy engine",
		Long: `Gatehouse is an authentication gateway. Its front doors, a PPTP VPN server and
a RADIUS server, hand every login to a policy engine that evaluates
expressions such as "(Password and OATH) or DIGIPASS" over authentication
back-ends: a local password store, OATH and DIGIPASS tokens, LDAP/Active
Directory, existing RADIUS servers, and plugins.

Everything is configured in one YAML file; see examples/reference.yaml.`,
		Example: `  # Check a configuration, then run the gateway on it
  gatehouse config check --config /etc/gatehouse/gatehouse.yaml
  gatehouse serve --config /etc/gatehouse/gatehouse.yaml

  # See how a policy is understood and which logins it can serve
  gatehouse policy explain "(Password and OATH) or DIGIPASS"`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		// --version (and -v) print the line "gatehouse version" prints.
		Version: versionString(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.AddGroup(
		&cobra.Group{ID: groupGateway, Title: "Running the gateway:"},
		&cobra.Group{ID: groupPolicy, Title: "Configuration and policies:"},
		&cobra.Group{ID: groupUsers, Title: "Users, groups and tokens (local store):"},
	)
	root.SetHelpCommandGroupID("")
	add := func(group string, cmds ...*cobra.Command) {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	add(groupGateway, newServeCmd(), newSessionsCmd(), newLogsCmd(), newPluginCmd())
	add(groupPolicy, newConfigCmd(), newPolicyCmd())
	add(groupUsers, newUserCmd(), newGroupCmd(), newTokenCmd(), newStoreCmd())
	add(groupUsers, newAdminCmd())
	root.AddCommand(newVersionCmd())
	strictArgs(root)
	return root
}

// strictArgs makes every command refuse unknown sub-commands and wraps
// argument errors as usage errors (exit code 2).
func strictArgs(c *cobra.Command) {
	if c.HasSubCommands() && c.Args == nil {
		c.Args = cobra.NoArgs
		if c.RunE == nil && c.Run == nil {
			c.RunE = func(c *cobra.Command, args []string) error {
				return c.Help()
			}
		}
	}
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				if cmd.HasSubCommands() && len(args) > 0 {
					return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
				}
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		strictArgs(sub)
	}
}

// commandPath names the command the user ran, for "Run '... --help'".
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == nil {
		return root.Name()
	}
	return c.CommandPath()
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), versionString())
			return nil
		},
	}
}

// requireFlag is a usage error for a missing required flag.
func requireFlag(name, value string) error {
	if strings.TrimSpace(value) == "" {
		return usagef("flag --%s is required", name)
	}
	return nil
}
