package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func newPolicyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "policy",
		Short: "Explain, check and try policies",
		Long: `A policy decides who may log in to a service. It is an expression over the
back-ends defined in the configuration:

  expr   = term { "or" term }
  term   = factor { "and" factor }
  factor = NAME | "(" expr ")"

"and" binds tighter than "or"; keywords are case-insensitive, names are not.
"A and B" means the user types A's secret immediately followed by B's.`,
	}
	c.AddCommand(newPolicyExplainCmd(), newPolicyCheckCmd(), newPolicyEvalCmd())
	return c
}

// defaultBackends are the back-end names "policy explain" knows without a
// configuration, with the capabilities of their usual types.
const defaultBackends = `
backends:
  Password: {type: local}
  OATH: {type: oath}
  DIGIPASS: {type: digipass}
  DirectoryService: {type: ldap}
  RADIUS: {type: radius}
services:
  explain: {policy: Password}
`

func newPolicyExplainCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "explain EXPR",
		Short: "Show how a policy is read and which logins it can serve",
		Long: `Explain prints the canonical form of a policy, its tree, its branches in
the order they are tried, and for each credential kind (MS-CHAPv2 from PPTP
and RADIUS, plaintext from RADIUS PAP) whether each branch can work.

Without --config the names Password (local store), OATH, DIGIPASS,
DirectoryService (LDAP without an NT-hash attribute) and RADIUS are known,
with the capabilities of those back-end types.`,
		Example: `  gatehouse policy explain "(Password and OATH) or DIGIPASS"
  gatehouse policy explain --config gatehouse.yaml "corp-ad or Password"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var cfg *config.Config
			source := "the default back-end capabilities"
			if path != "" {
				var ps config.Problems
				var err error
				cfg, ps, err = config.Load(path)
				if err != nil {
					return err
				}
				if errs := ps.Errors(); len(errs) > 0 {
					_ = report(c.ErrOrStderr(), path, errs)
					return &exitError{code: 1}
				}
				source = "the back-ends of " + path
			} else {
				cfg, _ = config.Parse("defaults", []byte(defaultBackends))
			}
			return explain(c.OutOrStdout(), args[0], cfg, source)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "take back-end names and capabilities from this configuration")
	return c
}

func explain(w io.Writer, src string, cfg *config.Config, source string) error {
	return explainFor(w, src, cfg, source, authpolicy.CredentialKinds)
}

// explainFor is explain for the credential kinds a service receives
// (config.ServiceKinds), as the console shows a service's policy.
func explainFor(w io.Writer, src string, cfg *config.Config, source string, kinds []authpolicy.CredentialKind) error {
	infos := cfg.Infos()
	p, err := authpolicy.Compile("explain", src, infos)
	if err != nil {
		var se *authpolicy.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%v\n    %s", se, strings.ReplaceAll(se.Caret(), "\n", "\n    "))
		}
		return err
	}
	fmt.Fprintf(w, "Canonical form:\n  %s\n\nTree:\n", authpolicy.Print(p.Expr))
	for _, line := range strings.Split(strings.TrimRight(authpolicy.Tree(p.Expr), "\n"), "\n") {
		fmt.Fprintln(w, "  "+line)
	}
	fmt.Fprintf(w, "\nBack-ends (from %s):\n", source)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range authpolicy.Names(p.Expr) {
		b, _ := cfg.Backends.Get(n.Name)
		info := infos[n.Name]
		extra := ""
		if len(info.FragmentLengths) > 0 {
			extra = fmt.Sprintf("  lengths %v", info.FragmentLengths)
		}
		if info.OneTime {
			extra += "  one-time"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\n", n.Name, b.Type, info.Capabilities, extra)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nBranches, tried in order:\n")
	for i, b := range p.Branches {
		fmt.Fprintf(w, "  %d. %s\n", i+1, b)
		for _, k := range kinds {
			if ok, why := p.Workable(b, k); ok {
				fmt.Fprintf(w, "       %-10s works\n", k)
			} else {
				fmt.Fprintf(w, "       %-10s cannot work: %s\n", k, why)
			}
		}
	}
	var warnings []string
	for _, f := range p.Check(kinds) {
		if f.Severity == authpolicy.SeverityWarning && strings.Contains(f.Msg, "is weak") {
			warnings = append(warnings, strings.TrimPrefix(f.Msg, "service explain: "))
		}
	}
	if len(warnings) > 0 {
		fmt.Fprintf(w, "\nWarnings:\n")
		for _, m := range warnings {
			fmt.Fprintf(w, "  %s\n", m)
		}
	}
	return nil
}

func newPolicyCheckCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "check",
		Short: "Check every service's policy in a configuration",
		Long: `Check compiles every service's policy against the configured back-ends and
reports branches that cannot work for the credentials the service receives
(errors) and weak branches (warnings). It is "config check" restricted to
policies; problems elsewhere in the file are ignored unless they keep the
policies from being read.`,
		Example: `  gatehouse policy check --config /etc/gatehouse/gatehouse.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			cfg, _, err := config.Load(path)
			if err != nil {
				return err
			}
			_, ps := cfg.CheckPolicies()
			return report(c.OutOrStdout(), path, ps)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	return c
}

func newPolicyEvalCmd() *cobra.Command {
	var (
		path, service, user, kind string
		secretStdin, dryRun       bool
	)
	c := &cobra.Command{
		Use:   "eval --service S --user U",
		Short: "Try a login against a service's policy",
		Long: `Eval runs one login through the policy engine with the configured back-ends
and prints the decision, the branch that decided, and for every branch why
it did or did not succeed, with timings.

The secret is read from the terminal without echo, or from standard input
with --secret-stdin (first line, without its newline). With --credential
mschapv2 (the default) eval plays the client's side of an MS-CHAPv2 exchange
with random challenges, so the engine sees what a PPTP login presents; with
plaintext it sees what RADIUS or PPP PAP presents; mschapv1 and chap-md5
play the exchanges a PPTP server allows when pptp.auth enables them.

--dry-run is on by default: no one-time code is consumed and no counter
advances. Pass --dry-run=false to make the login count.

Exit status: 0 accepted, 1 rejected, 2 usage error.`,
		Example: `  gatehouse policy eval --config gatehouse.yaml --service pptp --user alice
  echo 'correct horse123456' | gatehouse policy eval -c gatehouse.yaml --service pptp --user alice --secret-stdin`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlag("service", service); err != nil {
				return err
			}
			if err := requireFlag("user", user); err != nil {
				return err
			}
			ck, ok := parseCredentialKind(kind)
			if !ok {
				return usagef("--credential must be mschapv2, plaintext, mschapv1 or chap-md5, not %q", kind)
			}
			cfg, _, ps, err := loadChecked(path)
			if err != nil {
				return err
			}
			if errs := ps.Errors(); len(errs) > 0 {
				_ = report(c.ErrOrStderr(), path, errs)
				return &exitError{code: 1}
			}
			if _, ok := cfg.Services.Get(service); !ok {
				return usagef("service %q is not in %s (services: %s)", service, path, strings.Join(cfg.Services.Keys(), ", "))
			}
			secret, err := readSecret(c, secretStdin)
			if err != nil {
				return err
			}
			engine, bs, err := buildEngine(c.Context(), cfg, nil)
			if err != nil {
				return err
			}
			defer bs.close()
			cred, err := credential(ck, user, secret)
			if err != nil {
				return err
			}
			var opts []authpolicy.Option
			if dryRun {
				opts = append(opts, authpolicy.DryRun())
			}
			res, err := engine.Authenticate(context.Background(), service, cred, opts...)
			if err != nil {
				return err
			}
			printResult(c.OutOrStdout(), res)
			if !res.Accepted {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&path, "config", "c", defaultConfig, "configuration file")
	f.StringVar(&service, "service", "", "service whose policy decides (required)")
	f.StringVar(&user, "user", "", "user name (required)")
	f.StringVar(&kind, "credential", "mschapv2", "credential kind: mschapv2, plaintext, mschapv1 or chap-md5")
	f.BoolVar(&secretStdin, "secret-stdin", false, "read the secret from standard input instead of the terminal")
	f.BoolVar(&dryRun, "dry-run", true, "consume nothing (no one-time code, no counter)")
	return c
}

// parseCredentialKind reads the credential kind of policy eval's
// --credential (and the console's dry run).
func parseCredentialKind(s string) (authpolicy.CredentialKind, bool) {
	switch strings.ToLower(s) {
	case "mschapv2", "ms-chapv2":
		return authpolicy.MSCHAPv2, true
	case "plaintext", "pap":
		return authpolicy.Plaintext, true
	case "mschapv1", "ms-chapv1":
		return authpolicy.MSCHAPv1, true
	case "chap-md5", "chapmd5":
		return authpolicy.CHAPMD5, true
	}
	return 0, false
}

// readSecret reads the secret without echo from the terminal, or the first
// line of standard input.
func readSecret(c *cobra.Command, fromStdin bool) (authpolicy.Secret, error) {
	in := c.InOrStdin()
	if !fromStdin {
		f, ok := in.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return authpolicy.Secret{}, usagef("standard input is not a terminal: pass --secret-stdin to read the secret from it")
		}
		fmt.Fprint(c.ErrOrStderr(), "Secret: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.ErrOrStderr())
		if err != nil {
			return authpolicy.Secret{}, fmt.Errorf("read secret: %w", err)
		}
		return authpolicy.NewSecret(string(b)), nil
	}
	line, err := readStdinLine(in, "secret")
	return authpolicy.NewSecret(line), err
}

// readStdinLine reads the first line of standard input, without its line
// ending; what names it in errors ("secret", "password").
func readStdinLine(in io.Reader, what string) (string, error) {
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("empty %s on standard input", what)
	}
	return line, nil
}

// credential builds what a client would present for secret: for MS-CHAPv2
// the client's side of the exchange with fresh random challenges.
func credential(kind authpolicy.CredentialKind, user string, secret authpolicy.Secret) (authpolicy.Credential, error) {
	switch kind {
	case authpolicy.Plaintext:
		return authpolicy.Credential{Kind: kind, User: user, Secret: secret}, nil
	case authpolicy.MSCHAPv1:
		r := &authpolicy.MSCHAPv1Response{}
		if _, err := rand.Read(r.Challenge[:]); err != nil {
			return authpolicy.Credential{}, err
		}
		r.NTResponse = mschapv2.NTResponseV1(r.Challenge, mschapv2.NTHash(secret.Reveal()))
		return authpolicy.Credential{Kind: kind, User: user, MSCHAPv1: r}, nil
	case authpolicy.CHAPMD5:
		r := &authpolicy.CHAPMD5Response{Challenge: make([]byte, 16)}
		if _, err := rand.Read(r.Challenge); err != nil {
			return authpolicy.Credential{}, err
		}
		r.Response = authpolicy.CHAPMD5Sum(r.Identifier, []byte(secret.Reveal()), r.Challenge)
		return authpolicy.Credential{Kind: kind, User: user, CHAPMD5: r}, nil
	}
	r := &authpolicy.MSCHAPv2Response{UserName: user}
	if _, err := rand.Read(r.AuthenticatorChallenge[:]); err != nil {
		return authpolicy.Credential{}, err
	}
	if _, err := rand.Read(r.PeerChallenge[:]); err != nil {
		return authpolicy.Credential{}, err
	}
	r.NTResponse = mschapv2.GenerateNTResponse(r.AuthenticatorChallenge, r.PeerChallenge, user, mschapv2.NTHash(secret.Reveal()))
	return authpolicy.Credential{Kind: kind, User: user, MSCHAPv2: r}, nil
}

func printResult(w io.Writer, res *authpolicy.Result) {
	decision := "REJECT"
	if res.Accepted {
		decision = fmt.Sprintf("ACCEPT by branch %q", res.Branch)
	}
	dry := ""
	if res.DryRun {
		dry = " (dry run: nothing consumed)"
	}
	fmt.Fprintf(w, "service %s, user %s, %s%s\n", res.Service, res.User, res.Kind, dry)
	fmt.Fprintf(w, "decision: %s in %s\n", decision, res.Duration.Round(time.Microsecond))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, b := range res.Branches {
		d := ""
		if b.Outcome != authpolicy.NotTried && b.Outcome != authpolicy.Skipped {
			d = b.Duration.Round(time.Microsecond).String()
		}
		fmt.Fprintf(tw, "  %d. %s\t%s\t%s\t%s\n", i+1, b.Branch, b.Outcome, d, b.Reason)
	}
	tw.Flush()
	switch {
	case res.Accepted && res.Kind == authpolicy.MSCHAPv2:
		fmt.Fprintf(w, "MS-CHAPv2: authenticator response %s; MPPE keys derived (not shown)\n", res.AuthenticatorResponse)
	case res.Accepted && res.Kind == authpolicy.MSCHAPv1 && res.Keys != nil:
		fmt.Fprintf(w, "MS-CHAPv1: MPPE key derived (not shown)\n")
	}
	if res.Accepted && len(res.Identity.Groups) > 0 {
		fmt.Fprintf(w, "groups: %s\n", strings.Join(res.Identity.Groups, ", "))
	}
}
