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
// otherwise Reply-Message becomes the reason. An Access-Challenge (a
// server asking for a second round, such as an OTP server's prompt) is a
// reject whose reason says so: the back-end decides in one round and does
// not pass the challenge, or its State, on to the NAS. Type the whole
// secret at once; the RADIUS front door's own second prompt
// (services.<name>.challenge) works with Gatehouse's OTP back-ends.
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
