// Package authpolicy decides who may log in. Operators write a policy per
// service, an expression over named authentication back-ends:
//
//	(Password and OATH) or DIGIPASS
//
// # The language
//
//	expr   = term { "or" term }
//	term   = factor { "and" factor }
//	factor = NAME | "(" expr ")"
//
// Keywords are case-insensitive; "and" binds tighter than "or". A NAME is a
// back-end instance from the configuration (letters, digits, '-' and '_',
// starting with a letter) and is case-sensitive: "password" does not name
// "Password", and the error says "did you mean". [Parse] returns a
// *[SyntaxError] carrying the column, and [SyntaxError.Caret] shows it.
// [Print] is the canonical printer: single spaces, lower-case keywords and
// parentheses around every group inside another; Parse(Print(e)) equals e.
//
// # Compiling
//
// Nothing is parsed at login time. [Compile] parses a policy once, resolves
// every name against the configured back-ends and expands the expression into
// its branches (disjunctive normal form, in evaluation order):
// "Password and (OATH or DIGIPASS)" is the two branches "Password and OATH"
// and "Password and DIGIPASS". A policy may expand to at most [MaxBranches]
// branches, and a branch may not name a back-end twice.
//
// # What a back-end can do
//
// A [Backend] declares [Capability] flags in its [Info]: it can supply
// fragments (the candidate secrets the user may have typed for it: the
// password, the one-time codes valid now), verify an MS-CHAPv2 response
// itself, verify a plaintext secret, and tell identity (groups, disabled,
// locked). A wrong secret is a [Verdict], not an error; an error means the
// back-end could not decide, and always fails its branch closed.
//
// [Policy.Check] checks each branch against the credential kinds a service
// receives: under MS-CHAPv2 the server sees only a response computed over the
// NT hash of the whole typed secret, so a combination ("A and B") needs every
// factor to supply fragments; a lone factor may verify MS-CHAPv2 itself.
// Under plaintext the secret is split from the end using the fixed lengths of
// one-time-code factors, so at most one factor of a combination may have a
// variable length. A branch that works for none of the service's credential
// kinds is an error; one that works for some is a warning (logins of the
// other kind skip it). A branch whose only secret under MS-CHAPv2 is one-time
// codes is a warning too: the MPPE keys then come from about 20 bits per
// code, and a recorded session can be decrypted offline.
//
// MS-CHAPv1 and CHAP-MD5 ([MSCHAPv1], [CHAPMD5]) reach the engine only from
// a PPTP service whose operator enabled them (pptp.auth.mschapv1,
// pptp.auth.chap_md5). Like MS-CHAPv2 they carry a response computed over
// the whole typed secret, so the engine composes them from fragments the
// same way; unlike MS-CHAPv2 no back-end checks them itself (the plugin
// protocol has no call for them), so every factor of such a branch, a
// lone one included, must supply fragments: the local store, OATH and
// DIGIPASS can, LDAP and RADIUS cannot, and their branches are skipped for
// those logins. MS-CHAPv1 yields one MPPE key for both directions (RFC
// 3079 section 2.4); CHAP-MD5 yields none, so its sessions are never
// encrypted.
//
// # Evaluating
//
// [Engine.Authenticate] tries the branches in order and stops at the first
// success. For MS-CHAPv2, a lone factor that verifies MS-CHAPv2 is asked
// directly; otherwise the engine fetches every factor's fragments (in
// parallel), builds every combination in written order (at most
// [MaxCombinations]), computes the NT-Response of each (the MS-CHAPv1
// NT-Response, or the CHAP-MD5 hash, for those kinds) and compares it in
// constant time with the one received. Plaintext secrets are split and each
// part checked by its back-end. When every factor matched, identity back-ends
// may still refuse (disabled, locked), and then each back-end is told which
// fragment was used ([Backend.Commit]) so one-time codes are consumed and
// counters advance; a failed Commit (a code another login used first) fails
// the login. [DryRun] skips the commit. Between the two, an [Approval] the
// caller put in the context ([WithApproval]; the PPTP gateway's VPN access
// check) may refuse the branch: nothing is committed, the next branch is
// tried, and the Result carries MS-CHAP error 649.
//
// Identity look-ups start in parallel with the check. A back-end whose
// Info says IdentityInVerdicts is not asked when the branch asks it to
// verify (a lone factor under MS-CHAPv2, any factor that verifies
// plaintext): the identity comes with its accepting verdict. One whose
// Info says IdentityInFragments is not asked when the branch combines its
// fragments: the identity comes with them. A back-end whose Info says
// NothingToCommit is not told to commit (never one with one-time codes).
// Each saves a plugin round trip per login; an answer that lacks the
// promised identity fails the branch closed.
//
// A caller that can show the user a second prompt (the RADIUS front door's
// Access-Challenge) runs a plaintext login with [WithChallenge]. When no
// branch accepts, the engine then tries, in order, each branch that combines
// one-time-code factors (Info.OneTime, written next to each other) with
// others: the others alone are evaluated against the whole typed secret
// (split between them as usual, identity back-ends and the Approval
// asked, nothing committed), and each code factor that supplies fragments
// is asked whether the user has a code at all. The first branch that passes
// becomes [Result.Challenge]: the rejected Result then says that a code
// would complete the login, and [Challenge.Complete] builds the secret of
// the second round, the one-line "password+code" form, which is decided
// like any other. The branch reasons say why each tried branch could not
// (" (without a code: ...)"). A Challenge therefore tells that the password
// was right; a wrong one gets no Challenge, only the plain rejection. The
// search asks the non-code factors a second time, with the whole secret
// (the usual pass split it as password+code): a back-end that counts
// failed attempts itself sees a wrong password twice.
//
// Each back-end call has the service's back-end deadline and the whole login
// has the login deadline; a back-end that does not answer in time fails its
// branch, which is recorded, and the next branch is tried. A back-end that
// ignores its context cannot hold a login past its deadline.
//
// The [Result] says which branch decided and why each other branch did not
// ([Result.Reason]); for MS-CHAPv2 it carries the authenticator response
// ("S=...") and the MPPE master session keys the PPP layer needs. Results,
// secrets and keys are safe to log: secrets and keys print as REDACTED.
//
// # Decisions
//
//   - A conjunction under MS-CHAPv2 prefers fragments even when a factor
//     could verify on its own; under plaintext each part is verified by its
//     back-end when it can (the local store checks an argon2id hash), else
//     compared with its fragments.
//   - All combinations are hashed even after a match, so the time a login
//     takes does not say which candidate matched.
//   - A back-end that accepts an MS-CHAPv2 response but returns neither the
//     PasswordHashHash nor the authenticator response and keys fails closed:
//     a PPTP session without MPPE keys cannot be encrypted.
//
// Package [github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2] has the
// RFC 2759 and RFC 3079 mathematics; [github.com/gatehouse-vpn/gatehouse/authpolicy/memory]
// is an in-memory back-end for tests and demos.
package authpolicy
