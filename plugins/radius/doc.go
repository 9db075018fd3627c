// Package radius is the RADIUS back-end ("type: radius" in the
// configuration, RADIUS in a policy): it forwards a login to RADIUS servers
// (FreeRADIUS, NPS, an OTP server) and lets their answer decide. It is a
// built-in plugin, run as "gatehouse plugin run radius".
//
// Capabilities: verify-plaintext (PAP: User-Password, RFC 2865) and
// verify-mschapv2 (MS-CHAP-Challenge + MS-CHAP2-Response, RFC 2548). On an
// MS-CHAPv2 Access-Accept the plugin returns MS-CHAP2-Success's
// authenticator response and the MPPE keys decrypted from MS-MPPE-Send-Key
// and MS-MPPE-Recv-Key with the shared secret, so a PPTP session that
// RADIUS authenticated is encrypted with keys the RADIUS server derived.
// An Access-Accept without them is an error (fail closed): MPPE could not
// start. An MS-CHAP-Error in a reject becomes the verdict's reason
// ("wrong user name or password (MS-CHAP error 691)", "account disabled
// (647)", ...) and its MSCHAPError code, which reaches
// authpolicy.Result.MSCHAPError for the PPP layer's Failure packet;
// otherwise Reply-Message becomes the reason.
//
// # Upstream Access-Challenge
//
// An Access-Challenge (a server asking for a second round, such as an OTP
// server's "Enter your code") is passed on where the user can answer it,
// and refused with a reason that says so everywhere else:
//
//   - Passed on: when the call's context says the gateway can show a
//     second prompt (sdk.ChallengeAllowed: a PAP login at the RADIUS front
//     door whose service has challenge on, the back-end being its branch's
//     only factor), the verdict is a refusal carrying an sdk.Challenge:
//     the server's Reply-Message (printable, at most 200 bytes) as the
//     prompt, and a continuation: a version byte (1), the length and
//     address of the server that sent the challenge, and its State. The
//     front door keeps the continuation under a State of its own, never
//     sends the server's State to the NAS, and hands the continuation back
//     (sdk.Continuation) with the user's answer as the secret. The
//     back-end then sends an Access-Request to that server only (no
//     failover: no other server knows the State) with the answer as
//     User-Password and the server's State; the answer decides: Accept,
//     Reject, or another Access-Challenge, passed on again (the front
//     door bounds the rounds, radiusd.MaxUpstreamRounds). An
//     Access-Challenge without a State cannot be answered: a refusal. A
//     malformed continuation, or a server no longer configured, is an
//     error (fail closed).
//   - Refused: PPTP, MS-CHAPv2 and CHAP logins (the hash covers one
//     secret; the PPP client cannot prompt twice), a RADIUS front door
//     with challenge off, a branch where the back-end has other factors,
//     and a gateway that speaks plugin protocol version 1. The reason:
//     "RADIUS server ... sent an Access-Challenge (a second prompt), which
//     this login cannot answer ...: refused".
//
// The answer is never logged; neither is the server's State.
//
// Every Access-Request carries Message-Authenticator, Calling-Station-Id
// (when known), NAS-Identifier,
// NAS-IP-Address (when configured), NAS-Port-Type Virtual, Service-Type
// Framed and Framed-Protocol PPP. Replies must carry a valid
// Message-Authenticator unless require_message_authenticator is "false"
// (Blast-RADIUS). Failover, retries, dead servers and Status-Server probes
// are internal/radius/radclient's.
//
// Options (all strings):
//
//	servers                        host:port[,host:port...], tried in order (required)
//	secret_file                    file holding the shared secret (one line)
//	secret                         the shared secret itself; the gateway fills it in
//	timeout                        per transmission, Go duration (2s)
//	retries                        retransmissions per server (1)
//	dead_after                     timeouts in a row before a server is dead (3)
//	probe_interval                 Status-Server probe interval of a dead server (10s)
//	nas_identifier                 NAS-Identifier (gatehouse)
//	nas_ip_address                 NAS-IP-Address (none)
//	require_message_authenticator  true|false (true)
//
// The shared secret: the gateway (root) reads secret_file itself and
// passes the secret to the plugin in its configuration over the plugin's
// private channel, so the file can stay mode 0600 root even though the
// plugin runs as plugins.user (nobody). Run by hand, the plugin reads
// secret_file itself. The secret never appears in a log or an error.
//
// Reply attributes of an Access-Accept (Filter-Id, Class,
// Framed-IP-Address, Session-Timeout, Idle-Timeout; see [Authorization])
// travel in the verdict's Attributes, keyed by their RADIUS names, and join
// the login's identity (authpolicy.Result.Identity.Attributes): Filter-Id
// names the firewall policy, Framed-IP-Address the session's address, Class
// is echoed in accounting.
//
// Calling-Station-Id is sent when the gateway knows where the login comes
// from (sdk.CallingStation: the PPTP client's public address, or the
// Calling-Station-Id a NAS sent to the RADIUS front door).
package radius
