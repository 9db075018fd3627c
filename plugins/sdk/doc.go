// Package sdk is what a vendor imports to write a Gatehouse authentication
// back-end as a plugin: a separate program that the Gatehouse gateway
// starts, supervises and asks "is this the right secret for bob?".
//
// # A plugin in three steps
//
// Write a type with a Describe method ([Backend]) and the methods of each
// capability it offers, then call [Serve] from main:
//
//	type tokens struct{ ... }
//
//	func (t *tokens) Describe(ctx context.Context) (sdk.Description, error) {
//		return sdk.Description{
//			Name: "acme-otp", Version: "1.4.2",
//			Capabilities:    []sdk.Capability{sdk.CapFragments, sdk.CapVerifyPlaintext},
//			FragmentLengths: []int{6},
//			OneTime:         true,
//			ConfigKeys:      []sdk.ConfigKey{{Name: "seeds", Required: true, Description: "file of token seeds"}},
//		}, nil
//	}
//	func (t *tokens) Configure(ctx context.Context, options map[string]string) error { ... }
//	func (t *tokens) Fragments(ctx context.Context, user string) ([]sdk.Fragment, error) { ... }
//	func (t *tokens) VerifyPlaintext(ctx context.Context, user, secret string) (sdk.Verdict, error) { ... }
//	func (t *tokens) Commit(ctx context.Context, user, token string) error { ... }
//
//	func main() { sdk.Serve(&tokens{}) }
//
// and test it with the conformance kit in package sdktest, which needs no
// Gatehouse. The package example shows a complete back-end.
//
// # Capabilities and interfaces
//
// Each capability the description lists needs one small interface:
//
//	capability          interface          called for
//	CapFragments        FragmentSource     "Password and OATH" under MS-CHAPv2: the gateway
//	                                       combines every candidate of every factor
//	CapVerifyMSCHAPv2   MSCHAPv2Verifier   a lone factor under MS-CHAPv2 (PPTP, RADIUS)
//	CapVerifyPlaintext  PlaintextVerifier  RADIUS PAP: the whole typed secret
//	CapIdentity         IdentitySource     groups, disabled/locked, attributes
//
// [Configurer], [Committer] and [HealthChecker] are optional and have
// defaults: no configuration, nothing to consume, healthy while the
// process answers. A description that promises what the type does not
// implement (CapFragments without a FragmentSource, OneTime without a
// Committer, ConfigKeys without a Configurer) is refused by [Serve] before
// the plugin starts, with a message naming the missing method; [Check]
// runs the same test. A call for a capability the type does not implement
// is answered UNIMPLEMENTED, which the gateway treats as a failure.
//
// # Results and errors
//
// A wrong secret is a [Verdict] with OK false and a Reason the operator
// can act on ("wrong password", "code already used"); it is not an error.
// Return an error only when the back-end could not decide (its directory
// is down): the gateway then fails that policy branch closed and logs the
// error. Neither errors nor reasons nor tokens may contain a secret. A
// panic in a method becomes an error for that call only.
//
// VerifyPlaintext must not consume a one-time code: the gateway may check
// several combinations before one succeeds, and only then calls Commit with
// the token of the fragment or verdict that was used.
//
// A back-end that is asked a second question (a RADIUS server behind it
// answering Access-Challenge) may refuse with a Verdict carrying a
// [Challenge]: the prompt and an opaque continuation. Only when
// [ChallengeAllowed] reports true (the gateway can show the user a second
// prompt: a PAP login at the RADIUS front door with challenges on, the
// back-end its branch's only factor); elsewhere the challenge is dropped
// and Reason is the refusal, so say there why. The user's answer comes as
// the secret of a later VerifyPlaintext whose [Continuation] is the one
// returned; it may be answered with another Challenge. Protocol version 1
// has no challenges.
//
// Every call to the plugin is a round trip between processes, so Serve
// saves some on the back-end's behalf. A back-end without a Committer is
// described as having nothing to commit (nothing_to_commit), and the
// gateway does not call Commit. A back-end that is an [IdentitySource] is
// described as carrying its identity in its verdicts
// (identity_in_verdicts) and, if it is a [FragmentSource] too, in its
// fragments (identity_in_fragments): Serve runs the back-end's own Lookup
// in the plugin process and attaches its answer to an accepting verdict,
// or to a non-empty Fragments answer, so the gateway need not ask Lookup.
// The Lookup follows a verification that took less than 50 µs; a slower
// one (a directory's bind) has it run alongside. Lookup must therefore be
// safe to run concurrently with the other methods; a Lookup error turns an
// accepting verification, or fragments, into an error (the branch fails
// closed), as a failed Lookup call would.
//
// # What Serve does
//
// Serve hides hashicorp/go-plugin and the transport. The gateway starts
// the plugin with a magic cookie in its environment ([Handshake]; without
// it the plugin explains itself and exits with status 1) and one end of a
// socket pair, the channel, as a file descriptor ([ChannelEnv]); the two
// sides agree on the plugin protocol version and on one-time TLS
// certificates for go-plugin's own connection. Under [ProtocolVersion]
// (proto package gatehouse.plugin.v2) the gateway's calls arrive on the
// channel as frames, many in flight at once: Serve runs each in its own
// goroutine, with a context that ends at the gateway's deadline for it or
// when the gateway gives up on it, so every method must honour its
// context. A gateway that speaks only [ProtocolVersion1] calls the same
// methods over gRPC. The plugin's standard error goes to the gateway's
// log; use [Logger] for structured records. [ServeConn] serves the
// channel on any connection, for tests ([sdktest] uses it).
//
// The gateway may run the plugin as an unprivileged user (nobody) with no
// capabilities; a plugin can open ordinary network connections but not
// bind privileged ports or read the gateway's files.
//
// # Versions
//
// ProtocolVersion, the proto package and its folder move together. A
// plugin built with this SDK serves versions 2 and 1, so it talks to every
// gateway that speaks either; one built with an SDK of version 1 talks to
// this gateway too, over version 1. A gateway speaking only another
// version refuses a plugin with both versions in the error, and so does a
// plugin refused by an older gateway.
package sdk
