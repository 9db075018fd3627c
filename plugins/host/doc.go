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
// Plugins are built with plugins/sdk. The host starts each with
// hashicorp/go-plugin (handshake, version negotiation, go-plugin's own gRPC
// services over its Unix socket with automatic mutual TLS) and hands it,
// at exec, one end of a connected socket pair: the channel. Under plugin
// protocol version 2 (proto/gatehouse/plugin/v2) every call travels on the
// channel as a frame (package plugins/internal/channel); a plugin that
// speaks only version 1 is called over go-plugin's gRPC connection, with
// the same messages re-encoded (package plugins/internal/v1relay). Both
// are negotiated at the handshake; [Status] says which one runs.
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
// included), runs it with its end of a new channel as file descriptor 3
// (GATEHOUSE_PLUGIN_CHANNEL=3), does go-plugin's handshake (magic cookie,
// protocol version 2 or 1, one-time certificates), then calls Describe,
// Configure and Describe again (the description may depend on the
// configuration). Its
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
// process exited (go-plugin reports it; a call that finds the channel
// broken reports it sooner), and every Spec.HealthInterval (default 10s)
// pings the process (the SDK's frame loop answers a ping itself, without
// the back-end) and asks the back-end for its health. A plugin that
// answers it is unhealthy (its directory is down) is logged and left
// running: a restart would not help. A call that finds no answer by its
// deadline has the process pinged at once, and again until it answers: a
// stopped or wedged process (SIGSTOP) misses three pings in a row within
// three call timeouts and is killed; so is one that misses three health
// checks in a row.
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
// caller's, if shorter), which travels in the call's frame, and a call
// slot (Spec.MaxConcurrent, default 64 per core of the gateway: callers
// that find every slot busy wait for one within their deadline, then
// fail closed; both are counted in [Status]). A call made while the
// plugin restarts waits for it within the same deadline. A caller whose
// deadline passes is answered at once; the plugin gets a cancel frame and
// the call's context ends there. One slow call (a directory that hangs
// for one user) delays no other: the plugin serves each call in its own
// goroutine.
//
// Every failure is an error, never a verdict: the process is gone, the
// channel broke (the plugin exited, stopped reading, or wrote something
// that is not a frame of the protocol: every call in flight fails at once
// and the plugin is restarted), the deadline passed, the plugin does not
// implement the call, or its reply is malformed ([ErrMalformedReply]: a
// 15-byte key, an accept without proof, a fragment of an undeclared
// length). The policy engine fails that branch closed; nothing here ever
// turns a failure into an accept. Failures are logged at warn with plugin,
// call, user and cause, at most five a second per plugin (the rest are
// counted). Secrets are never logged, and a secret a plugin quotes in its
// error is replaced by REDACTED.
//
// A version 1 plugin must not answer UNAVAILABLE itself: the host takes
// that gRPC code for a broken connection and restarts the plugin (the SDK
// never sends it). Under version 2 an error frame is always the plugin's
// answer, whatever its code.
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
// credentials: it gets PATH, TZ, LANG and GATEHOUSE_PLUGIN_CPUPROFILE (see
// Profiling), GOMAXPROCS=Spec.Procs (default 1), then Spec.Env. It dies
// with the gateway (Linux's parent-death signal). The channel is a socket
// pair, not a path: no other process can connect to it. The SHA-256 pin is checked just
// before the exec, so the directory holding a pinned binary must not be
// writable by anyone the pin is meant to stop.
//
// # Why the transport looks the way it does
//
// Measured on the project's 2-core machine with the benchmarks of this
// package and the login benchmarks in cmd/gatehouse (docs/performance.md
// has the commands), CPU profiles of both processes
// (go test -cpuprofile, GATEHOUSE_PLUGIN_CPUPROFILE), strace -c and a
// system-wide perf record.
//
// Version 1 sent every call as a gRPC unary call: 183-250 µs per call one
// at a time, 102 allocations, and 19,500-21,500 calls/s with 64 in flight,
// against 42-45 µs and 125,000-140,000 round trips/s for the same bytes
// between two Go processes on a Unix socket. The profiles of both
// processes said why: neither was busy (54% and 62% of a core while the
// parallel benchmark ran); a third of each one's CPU was the scheduler
// finding and waking goroutines (findRunnable, futex), a quarter system
// calls, then HTTP/2 framing (14%), TLS records (9-14% each way), HPACK
// and protobuf (2-3% each). Each call crossed three goroutines in each
// process — caller, gRPC's loopy writer, the transport's reader; in the
// plugin the stream handler — and on two cores every hand-off to an idle
// processor is a futex wake of a sleeping thread. A login through the
// local store added SQLite: every call parsed two or three statements
// afresh (sqlite3RunParser was 25-30% of the plugins' CPU) and took read
// locks in the -shm file. The login benchmark (32 in flight) made 1,700-
// 1,800 logins/s through plugins against 47,000 in memory (0.035).
//
// What the channel does instead, each step measured:
//
//   - One connection per plugin (a socket pair, no TLS: no one else can
//     reach it), frames with a call id, the deadline and a protobuf
//     payload; marshalled by generated code (vtprotobuf), not
//     reflection: less CPU, 9 allocations per call on the host, and a
//     shallow stack (reflection's unmarshalling grew the stack of every
//     short-lived calling goroutine: copystack was 7% of the host's CPU).
//   - No writer goroutine: a caller writes itself when no write is in
//     progress; frames queued during a write leave in the next one; under
//     load a caller yields once before writing so the ready goroutines'
//     frames join it (the plugin always yields).
//   - No reader goroutine on the host: a waiting caller reads, delivering
//     the others' answers, until its own comes (the leader/follower
//     pattern): a lone call wakes nobody. 97→78 µs one at a time.
//   - No timer per call on the host: the reading caller keeps the socket's
//     read deadline at the earliest deadline in flight (context.WithTimeout
//     per call was 5% of the host's CPU).
//   - The plugin serves a lone call in the reading goroutine (another one
//     takes over reading after 50 µs, so a slow call holds up nothing);
//     calls that arrive together go to worker goroutines that keep their
//     grown stacks.
//   - Plugin processes run with GOMAXPROCS=1 (Spec.Procs): the runtime
//     then has no idle processor to wake at each hand-off, and a call costs
//     a third less (75→51 µs one at a time; the login benchmark rose
//     from 5,800-8,000 to 7,800-9,900 logins/s with only this change).
//   - The SDK attaches the back-end's identity to a Fragments answer
//     (identity_in_fragments, as to verdicts before): a login of
//     "Password and OATH" makes two calls instead of three.
//   - The built-in local, oath and digipass plugins keep a cache of what
//     they read from SQLite (internal/store's Cache), trusted only while the
//     wal-index header in the -shm file shows no commit since: 19 ns to
//     ask, against 10 µs for PRAGMA data_version and 40 µs for one query.
//
// A gRPC stream per plugin carrying ids and batches was the other way the
// issue proposed: it keeps HTTP/2 framing, a writer goroutine (the loopy
// writer) and TLS records, the costs measured above, so it was not built.
// A connection from go-plugin's broker would have kept TLS and a listener
// on a path; the socket pair has neither.
//
// Now (same benchmarks, same run for each ratio; go test -run '^$' -bench .
// ./plugins/host/ and -bench LoginIsolation ./cmd/gatehouse/): one call at
// a time, p50 0.91-1.10 times a raw round trip of the same 34 bytes; 64 in
// flight, 0.70-0.93 times the pipelined raw round trips (85,000-89,000
// calls/s); 9 allocations per call on the host; a login through plugins
// 0.31-0.33 of one through in-memory back-ends (15,000-17,000 logins/s);
// the RADIUS front door with the local store plugin 1.09-1.33 times
// FreeRADIUS. The rest of a login's cost through plugins, by a
// system-wide profile: the gateway 54% of the two cores (its own
// MS-CHAPv2 arithmetic is the largest part, as in memory), the plugin
// processes 32% (their runtime, allocation and GC, the OATH codes),
// system calls and wake-ups in both, and 13% idle: with two logins'
// worth of calls in flight per plugin, the processes still wait on each
// other.
//
// # Profiling
//
// With GATEHOUSE_PLUGIN_CPUPROFILE=DIR in the gateway's environment every
// plugin built with the SDK writes a CPU profile of its process to
// DIR/<name>-<pid>.pprof when it stops (DIR must be writable by
// plugins.user): go tool pprof bin/gatehouse DIR/local-1234.pprof.
//
// # Logs
//
// The plugin's standard error reaches the host's log: records written with
// sdk.Logger keep their level and attributes and carry plugin=<name>,
// source=plugin; go-plugin's own chatter goes to debug.
package host
