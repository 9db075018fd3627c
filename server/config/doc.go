// Package config loads gatehouse.yaml, the one configuration file of a
// Gatehouse gateway, strictly: every problem in the file is reported at once,
// each with the file, line and column, the setting's path and the form that
// was expected.
//
//	gatehouse.yaml:12:5: services.pptp: unknown key "polcy"; did you mean "policy"?
//	gatehouse.yaml:20:18: pptp.echo_interval: bare number 30 is not a duration; write a duration such as 10s
//	gatehouse.yaml:31:3: warning: backends.Demo: secrets in plaintext in the config, for tests and demos only
//
// # A tour of the file
//
// examples/reference.yaml writes out every key with its default and says
// what each does; examples/quickstart/gatehouse.yaml is the smallest useful
// file. Keys are snake_case. In order:
//
//   - state_dir: where the store, keys and logs live.
//   - log: level (debug, info, warn, error), format (json, text), file.
//   - admin: listen, the local admin and health HTTP listener ("" turns it off),
//     the web console on it (console; TLS with tls_cert_file and tls_key_file,
//     required unless listen is a loopback address).
//   - store: driver (sqlite, or postgres with dsn_file), path, key_file.
//   - plugins: the plugin host (dir, user, call_timeout, max_concurrent_calls,
//     procs)
//     and external, third-party plugin binaries pinned by SHA-256.
//   - backends: required. Back-end instances by name, in file order; the
//     names are the NAMEs of the policy language, so they are letters, digits,
//     '-' and '_', start with a letter, and are not "and" or "or". Each has a
//     type (local, oath, digipass, ldap, radius, plugin, memory), a timeout,
//     and the keys of its type; a key of another type is an error that says
//     which type it belongs to. [Backend.Info] is the capability catalog the
//     policy engine checks policies against.
//   - services: required. Named policies, in file order: policy (required),
//     login_timeout, backend_timeout, strip_domain, challenge (the RADIUS
//     front door's second prompt for a missing one-time code). [Service.PolicyPos] is where the policy
//     text starts, so that a policy compiler's column can be turned into a
//     file position with [Service.PolicyColumn].
//   - pptp: the PPTP front door: listen, service, the address pool, DNS and
//     WINS, limits and timers, weak authentication and MPPE switches (each
//     weak one warns), and access (on/off by group, use_group/on/off by user).
//   - firewall: named, ordered rule lists; policies by group and by user
//     (use_group, add_to_group, overrule_group); default_policy.
//   - radius_server: the RADIUS front door: listen, service, clients, and
//     for services with challenge the prompt, lifetime and limits of their
//     Access-Challenges (challenge_message, challenge_timeout,
//     max_challenges, max_challenges_per_user).
//   - radius_accounting: RADIUS accounting of sessions: servers, secret
//     file, interim interval.
//
// # Strict decoding
//
// yaml.v3 parses the file into a node tree; this package walks the tree
// against the Go types itself (decode.go) instead of using yaml's Decode,
// which stops at the first problem and gives no column. Strict means: no
// unknown keys (with a suggestion when one is close), no duplicate keys, no
// merge keys (<<; aliases are fine), booleans are true or false only,
// durations carry a unit ("10s", "1m30s"; only 0 may go without one), a list
// is a list even when it has one element, and numbers are checked against
// their range. A syntax error is located by finding the shortest prefix of the
// file that fails the same way, because yaml.v3's messages carry at best a
// line, and not always the right one. After decoding, checks that involve
// several values (the pool against the local address, references between
// sections, plugin pins) run and are reported the same way.
//
// A key left out keeps its default; so does a key written with no value
// (key: or key: ~). A mapping or list written in the file replaces the
// default one; it is not merged with it.
//
// # Defaults
//
// Defaults live in one place, defaults.go: [Default] for the sections, and
// setDefaults methods for what a new entry starts from (an oath back-end's
// digits, a service's timeouts, a rule's proto). A back-end's timeout
// defaults to plugins.call_timeout. examples/reference.yaml writes every
// default out; a test loads it next to a file holding only backends and
// services and requires the two to agree, and another requires the reference
// to write every key, so neither can drift from the other.
//
// # Relative paths
//
// Relative paths are relative to the directory of the configuration file,
// not to the working directory, so that a gateway behaves the same however
// it is started: state_dir, store.dsn_file, plugins.dir, radius_accounting.secret_file,
// admin.tls_cert_file and admin.tls_key_file, and the RADIUS clients' secret_file. Files the gateway keeps for itself live in state_dir:
// store.path, store.key_file and log.file are relative to it. Plugin binaries
// are relative to plugins.dir. [Load] and [Parse] return them resolved.
//
// # Secrets
//
// The memory back-end, for demos and tests, keeps its users' secrets in the
// file in plaintext; loading it warns. They are held as [authpolicy.Secret],
// which redacts itself, so printing a Config does not show them. Real
// secrets (the PostgreSQL DSN, RADIUS shared secrets) are named by file, not
// written here.
//
// # Decisions
//
//   - pptp is enabled by default and radius_server is not; a front door's
//     service must exist only while the door is enabled.
//   - The PPTP pool, local address, DNS and WINS servers must be IPv4: IPCP
//     hands out IPv4 only.
//   - Listen addresses are IP literals with a port (0.0.0.0:1723), not host
//     names.
//   - A plugin back-end must declare at least one capability.
//   - Load and Parse return a Config even when there are errors, filled as far
//     as the file allowed, so that later checks can report more; such a
//     Config must not be used to run.
package config
