// Package lockout is the gateway's answer to password guessing: after
// Threshold failed logins of one user name within Window, the name is
// refused for Duration, whatever the password.
//
// # What counts
//
// The caller reports each refused login with [Tracker.Failed] and each
// accepted one with [Tracker.Succeeded], and asks [Tracker.Check] before it
// evaluates a login at all. Only a wrong secret is a failure: a back-end
// that could not decide (directory down, plugin timeout) is not the user's
// guess, and neither is a login whose secrets were right but that the VPN
// access rules refused (authpolicy.Result.Denied). Names are counted
// whether or not any back-end knows them: were unknown names exempt, the
// lockout would tell an attacker which names exist.
//
// # What a locked user sees
//
// A locked name is refused before any back-end is asked: no password is
// checked, no one-time code is spent, and the answer is the same whether
// the secret was right or wrong, so a lockout never reveals a correct
// password. On the wire the refusal is the ordinary one (MS-CHAP E=691,
// RADIUS Access-Reject); the distinct reason ("locked out until ...") is in
// the log and the events, for the operator, not for the guesser.
//
// # Where the counts live
//
// The counts are kept in memory, where a login reads them, and written
// behind to the store (store.Store lockouts table) by one goroutine
// ([Tracker.Run]), so a restart does not forgive them and the login path
// never waits for the disk. When the writer falls behind by more than
// [Backlog] changes, further writes are dropped and counted (Stats): the
// in-memory lockout still holds, only its survival of a restart is lost.
// [Tracker.Load] replaces the memory with the store's rows: at start, and
// when an operator's "gatehouse user unlock" moved the store's lockouts
// revision.
//
// # Several gateways
//
// Gateways that share a store (PostgreSQL) count together once
// [Tracker.Share] is called: each failure is counted in memory as above
// and also added, by the writer, to the name's row in the store
// (store.Store.RecordFailure), which sums every gateway's failures. When
// that sum reaches Threshold, the name is locked in the store, in this
// gateway's memory (reported through Share's callback, for the lockout
// event), and, through the store's lockouts revision, in every other
// gateway's memory within a poll (Load). So a guesser who spreads tries
// over the gateways behind one address is locked after Threshold in all,
// not Threshold at each. A gateway's own memory still decides at once:
// the store only adds what the others counted.
//
// Memory is bounded by [MaxNames] names; past it, names whose window has
// passed are forgotten first, then unlocked names at random. The
// per-source rate limits of the front doors bound how fast names can be
// tried in the first place.
//
// Threshold 0 turns the lockout off: Check never refuses and nothing is
// counted.
package lockout
