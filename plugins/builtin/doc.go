// Package builtin holds the back-ends that ship inside the gatehouse
// binary: the local password store ("local", Password in the examples),
// OATH soft tokens ("oath") and DIGIPASS hardware tokens in OATH mode
// ("digipass"), and the LDAP / Active Directory back-end ("ldap", package
// plugins/ldap, which keeps no state of its own). Each is a plugin like any other: the gateway re-executes
// itself ("gatehouse plugin builtin NAME") and talks to it over the plugin
// protocol, so a crash in a back-end never takes the gateway down, and the
// back-end runs as plugins.user without the gateway's privileges.
//
// The first three keep their state in the local store (internal/store): users,
// groups and sealed passwords; tokens with sealed secrets, HOTP counters,
// the last accepted TOTP step and the learned clock drift. The store's path
// and key file reach them through Configure (options store_path and
// key_file). Each reads through a store.Cache of its own, in its own
// process (never in the gateway): a login costs no SQLite query unless
// the database changed since the last one, and a change made by the CLI,
// by another plugin or by another process on the same file is seen by the
// very next login. Commits go to the database directly.
//
// # One-time codes
//
// Fragments lists, for every token assigned to the user, the codes valid
// now (TOTP: the current step and skew steps either side, shifted by the
// token's learned drift; HOTP: the next counter and look_ahead more), minus
// those already used. A fragment's token names the serial, the counter or
// time step and its offset from the expected one; Commit records the use
// with a conditional update in the store, so a code is accepted once, by
// one login, even when two gateways or two logins race for it, and also
// after a restart. VerifyPlaintext matches a typed code against the same
// candidates and consumes nothing; Commit does.
//
// DIGIPASS devices are supported in OATH mode only (event-based HOTP and
// time-based TOTP, secrets imported from the vendor's PSKC file); the
// vendor's proprietary algorithms are not implemented.
package builtin
