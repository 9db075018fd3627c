// Command gatehouse-plugin-allowlist is a Gatehouse authentication plugin:
// it accepts the users listed, with Argon2id password hashes, in a users
// file named by the back-end's users_file option, and reports their
// groups. It is a template: copy this directory to start a plugin of your
// own. README.md takes it from a clone to a policy that uses it.
//
// The gateway runs it without arguments. By hand:
//
//	gatehouse-plugin-allowlist                     describe the plugin and its SHA-256
//	gatehouse-plugin-allowlist hash NAME [GROUPS]  make a users-file line; password on stdin
package main

import (
	"os"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "hash" {
		os.Exit(hashMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	sdk.Serve(newAllowList(sdk.Logger()))
}
