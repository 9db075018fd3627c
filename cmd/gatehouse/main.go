// Command gatehouse is the Gatehouse authentication gateway: a PPTP VPN
// server and a RADIUS server in front of a policy engine over pluggable
// authentication back-ends. Run "gatehouse --help" for the commands.
//
// Exit codes: 0 success; 1 the command ran and found a problem (a config
// error, a rejected login); 2 the command line itself was wrong.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// usageError is a command line that cannot be run as written: exit code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitError carries an exit code for a failure already reported to the
// user (for example "config check" found problems and printed them).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ue *usageError
	var xe *exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &xe):
		return xe.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "Error: %v\nRun '%s --help' for usage.\n", err, commandPath(root, args))
		return 2
	default:
		fmt.Fprintf(stderr, "Error: %v\n", err)
		return 1
	}
}
