// Package ldap is the LDAP and Active Directory back-end: the built-in
// plugin "ldap" (gatehouse plugin run ldap), the DirectoryService of the
// policies.
//
// # What it does
//
//   - verify-plaintext: finds the user as the service account, refuses a
//     disabled or locked account, then binds as the user's DN with the
//     typed password. An empty password is refused before any bind (to an
//     LDAP server a DN without a password is an unauthenticated bind that
//     "succeeds", RFC 4513 section 5.1.2).
//   - verify-mschapv2, only with option nt_hash_attribute: reads the NT
//     hash (sambaNTPassword on OpenLDAP with the Samba schema, 32 hex
//     digits, or 16 raw bytes) as the service account, checks the
//     NT-Response (RFC 2759) and returns MD4(NT hash) as PasswordHashHash,
//     from which the gateway derives the authenticator response and the
//     MPPE keys (RFC 3079).
//   - identity: found, disabled, locked, groups, and the attributes named
//     in option attributes.
//
// # Active Directory and MS-CHAPv2
//
// Active Directory keeps the NT hash (unicodePwd) but never returns it
// over LDAP, to nobody, not even a domain administrator: the attribute is
// write-only. So a DirectoryService of directory ad checks MS-CHAPv2 only
// with option mschapv2: winbind: the gateway is a member of the domain
// (net ads join, winbindd running) and the back-end hands the challenge
// and response to a domain controller through Samba's ntlm_auth
// --request-nt-key, which returns the logon's user session key, MD4 of
// the NT hash: PasswordHashHash, as with nt_hash_attribute (winbind.go
// says how, and how its answers become verdicts and errors). Without
// either option a PPTP policy "DirectoryService" alone cannot work
// against AD, and gatehouse config check says so. Other ways: a RADIUS
// server in front of AD (Microsoft NPS, or FreeRADIUS with ntlm_auth)
// used as a back-end of type radius; the local password store; plaintext
// logins through the RADIUS front door, which this back-end checks by
// binding.
//
// # Decisions
//
//   - Options are a string map (the gateway's options: block under a
//     back-end of type ldap); their names are the plugin's sdk.ConfigKey
//     names, see ConfigKeys. The gateway reads bind_password_file and
//     ca_file itself, as root, and passes bind_password and ca_pem, so
//     that the files need not be readable by plugins.user (nobody).
//   - directory: ad or openldap (default) only chooses defaults:
//     filters, the group mode. The gateway's config check treats a
//     back-end as Active Directory when directory is ad or a filter
//     mentions sAMAccountName or userPrincipalName.
//   - The user filter is used for a name without @, the UPN filter for a
//     name with one. {user} is replaced by the name escaped as an RFC 4515
//     assertion value (ldap.EscapeFilter: *, (, ), \, NUL and every byte
//     outside ASCII as \XX). Before that, names that no account can have
//     are refused outright: empty, over 256 bytes, not UTF-8, with a
//     control character, or with leading or trailing white space (the
//     directory's matching rules would ignore it). With directory ad a
//     down-level "DOMAIN\name" (what Windows PPTP clients send) is looked
//     up as name, whatever the domain: one back-end serves one domain.
//     A search that matches
//     more than one entry refuses the login. Case is the directory's
//     business: uid and sAMAccountName match case-insensitively.
//   - Groups: memberof (read memberOf; direct groups), nested (AD:
//     member:1.2.840.113556.1.4.1941:=DN, every group up the chain), or
//     search (group_filter under group_base_dn, for directories without
//     memberOf). A group's name is its cn (group_name_attribute).
//   - Account state: AD userAccountControl ACCOUNTDISABLE is disabled;
//     msDS-User-Account-Control-Computed LOCKOUT is locked (it knows when
//     a lockout expired), else a non-zero lockoutTime. OpenLDAP: a
//     ppolicy pwdAccountLockedTime is locked (whatever its value; slapd
//     refuses the bind anyway), sambaAcctFlags D is disabled and L is
//     locked. MS-CHAPv2 has no bind, so these checks are what refuses a
//     disabled account there.
//   - Connections: two small pools per back-end (pool_size idle
//     connections each): one bound as the service account that only
//     searches, one that only carries user binds (each replaces the
//     last), so a search never runs with a user's rights. A new
//     connection tries the servers of url in order (primary first); TLS
//     (ldaps:// or start_tls) verifies the certificate against ca_file or
//     the system's CAs, and the name against the URL's host (or
//     tls_server_name). connect_timeout bounds a connect, timeout every
//     operation, and the call's context both: a cancelled call closes its
//     connection. A network error on a pooled connection (the server
//     restarted) is retried once on a new one. pool_size 0 is one
//     connection per call.
//   - mschapv2: winbind is a mode of this back-end, not a back-end type
//     of its own: groups, disabled and locked state come from LDAP as for
//     any directory, so the AD back-end needs its LDAP options anyway;
//     only the MS-CHAPv2 check moves to the domain controller. Plaintext
//     keeps binding over LDAP as the user (one rule for every directory;
//     no NTLMv1 allowance needed, and AD says why it refused). The
//     domain of a "DOMAIN\name" must then be winbind_domain or realm;
//     ntlm_auth gets the account's sAMAccountName from the directory,
//     never the typed name, each argument as one --name=value. The
//     gateway starts the plugin with the supplementary group
//     winbind_group (winbindd_priv), which winbindd's privileged pipe
//     requires.
//   - A wrong password, an unknown, disabled or locked user is a verdict;
//     a directory that cannot be reached or refuses the service account
//     is an error, and the gateway fails the branch closed.
//   - The service account's password is a Secret: it prints and logs as
//     REDACTED.
package ldap
