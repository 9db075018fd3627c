// Package host runs authentication back-ends as plugin processes and offers
// each one to the policy engine as an authpolicy.Backend.
//
//	h := host.New(log)
//	err := h.Start(ctx, host.Spec{Name: "OATH", Path: "/usr/lib/gatehouse/acme-otp",
//		SHA256: "3f4a…", Config: map[string]string{"seeds": "/etc/gatehouse/seeds.pskc"}})
//	oath, _ := h.Backend("OATH") // an authpolicy.Backend, valid across restarts
//	...
//	h.Close()
//
// Plugins are built with plugins/sdk; the host speaks to them with
// hashicorp/go-plugin over gRPC (proto/gatehouse/plugin/v1), with go-plugin's
// automatic mutual TLS over a Unix socket. Both sides fix the HTTP/2
// flow-control windows (1 MiB), which turns off gRPC's bandwidth-delay
// PINGs: the messages are small and each PING is more writes and wake-ups.
//
// The description's nothing_to_commit and identity_in_verdicts become
// [authpolicy.Info]'s NothingToCommit and IdentityInVerdicts (the first is
// dropped for a plugin with one-time codes, the second for one without the
// identity capability), and the identity in a verdict becomes
// [authpolicy.Verdict]'s Identity: the engine then skips the Commit and
// Lookup round trips these make unnecessary.
//
// # Starting
//
// [Host.Start] starts plugins at boot, in parallel: it hashes the
// executable when the Spec pins a SHA-256 (before every start, restarts
// included), runs it, does go-plugin's handshake (magic cookie, protocol
// version 1, one-time certificates), then calls Describe, Configure and
// Describe again (the description may depend on the configuration). Its
// error names each plugin that did not come up and why: the hash that did
// not match ("plugin x: binary /p/x has SHA-256 ab…, the config pins cd…:
// refusing to start it"), both protocol versions, every configuration
// problem the plugin listed, or the last lines the plugin wrote to stderr
// before dying. A plugin that fails to start stays failed: its back-end
// answers errors, and [authpolicy.Info] reports no capabilities.
//
// A built-in plugin is the gatehouse binary itself: Path is os.Executable()
// and Args select the plugin (["plugin", "run", "local"]); that command
// must do nothing but call sdk.Serve. One binary is then all a user
// installs, and built-in plugins are supervised, confined and restarted
// like any other.
//
// # Supervision
//
// Each running plugin has a supervisor goroutine (RoutineSupervise,
// in supervise.go) that owns its state (see [State]). It notices that the
// process exited (go-plugin reports it; a call that loses the connection
// reports it sooner), and asks the plugin for its health every
// Spec.HealthInterval (default 10s). A plugin that answers it is
// unhealthy (its directory is down) is logged and left running: a restart
// would not help. A plugin that does not answer three health checks in a
// row is killed.
//
// A dead plugin is restarted after a back-off of 100ms, doubling after
// each failed attempt up to 30s, and starting again from 100ms once a
// process has run for a minute. Each start repeats the hash check,
// Describe and Configure. A refusal that no retry can cure (hash, protocol
// version, configuration) ends in state failed. [Host.Status] reports each
// plugin's state, PID, restarts and last error.
//
// # Failing closed
//
// Every call has a deadline (Spec.CallTimeout, default 5s, or the
// caller's, if shorter) and a call slot (Spec.MaxConcurrent, default 64;
// callers wait for a slot within their deadline). A call made while the
// plugin restarts waits for it within the same deadline. Every failure is
// an error, never a verdict: the process is gone, the connection broke,
// the deadline passed, the plugin does not implement the call, or its
// reply is malformed ([ErrMalformedReply]: a 15-byte key, an accept
// without proof, a fragment of an undeclared length). The policy engine
// fails that branch closed; nothing here ever turns a failure into an
// accept. Failures are logged at warn with plugin, call, user and cause,
// at most five a second per plugin (the rest are counted). Secrets are
// never logged, and a secret a plugin quotes in its error is replaced by
// REDACTED.
//
// A plugin must not answer UNAVAILABLE itself: the host takes that code
// for a broken connection and restarts the plugin (the SDK never sends
// it).
//
// # Confinement
//
// When the gateway runs as root, plugins run as Spec.User (default
// "nobody"), with no supplementary groups. The kernel drops the permitted
// and effective capabilities when a root process changes to another user,
// and the host grants no ambient ones, so a plugin has no capabilities: it
// cannot bind ports below 1024, read root's files, configure interfaces
// or open raw sockets. It can still open ordinary sockets, so a plugin
// that talks to an LDAP directory, a RADIUS server or a token vendor's
// API works unchanged; a plugin that needs files (a local store's
// database, a seed file) needs them readable by its user, so give such a
// plugin its own user rather than nobody. A plugin never runs as root.
//
// A plugin does not inherit the gateway's environment, which may hold
// credentials: it gets PATH, TZ and LANG, then Spec.Env. It dies with the
// gateway (Linux's parent-death signal). The SHA-256 pin is checked just
// before the exec, so the directory holding a pinned binary must not be
// writable by anyone the pin is meant to stop.
//
// # Logs
//
// The plugin's standard error reaches the host's log: records written with
// sdk.Logger keep their level and attributes and carry plugin=<name>,
// source=plugin; go-plugin's own chatter goes to debug.
package host
