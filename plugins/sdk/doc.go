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
// Every call to the plugin is a round trip between processes, the largest
// cost of a plugin-backed login, so Serve saves two on the back-end's
// behalf. A back-end without a Committer is described as having nothing
// to commit (nothing_to_commit), and the gateway does not call Commit. A
// back-end that is an [IdentitySource] is described as carrying its
// identity in its verdicts (identity_in_verdicts): alongside each
// VerifyPlaintext and VerifyMSCHAPv2 Serve runs the back-end's own Lookup,
// in the plugin process and in parallel, and attaches its answer to an
// accepting verdict, so the gateway need not ask Lookup after a
// verification. Lookup must therefore be safe to run concurrently with the
// verification; a Lookup error turns an accepting verification into an
// error (the branch fails closed), as a failed Lookup call would.
//
// # What Serve does
//
// Serve hides hashicorp/go-plugin and gRPC. The gateway starts the plugin
// with a magic cookie in its environment ([Handshake]; without it the
// plugin explains itself and exits with status 1), the two sides agree on
// the plugin protocol version ([ProtocolVersion], the proto package
// gatehouse.plugin.v1) and on one-time TLS certificates, and the gateway
// then calls the back-end over a Unix socket. The plugin's standard error
// goes to the gateway's log; use [Logger] for structured records.
//
// The gateway may run the plugin as an unprivileged user (nobody) with no
// capabilities; a plugin can open ordinary network connections but not
// bind privileged ports or read the gateway's files.
//
// # Versions
//
// ProtocolVersion, the proto package and its folder move together. A
// plugin built with this SDK talks to every gateway that speaks protocol
// 1; a gateway speaking only another version refuses it with both versions
// in the error, and so does a plugin refused by an older gateway.
package sdk
