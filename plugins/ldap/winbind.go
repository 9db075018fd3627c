package ldap

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// MS-CHAPv2 through winbind (option mschapv2: winbind).
//
// The gateway is a member of the Active Directory domain (net ads join)
// with winbindd running. For a login, the account is found in the
// directory as for any other check (disabled, locked, groups), then
// Samba's ntlm_auth hands the challenge hash (RFC 2759 section 8.2) and
// the NT-Response to a domain controller over the machine's secure
// channel (netlogon):
//
//	ntlm_auth --request-nt-key --allow-mschapv2 [--configfile=SMB_CONF]
//	          --username=sAMAccountName --domain=WINBIND_DOMAIN
//	          --challenge=16 HEX --nt-response=48 HEX
//
// On success it prints "NT_KEY: 32 HEX", the user session key of the
// logon, which for an MS-CHAPv2 (NTLMv1-style) response is MD4 of the NT
// hash: RFC 2759's PasswordHashHash, from which the gateway derives the
// authenticator response and the MPPE keys (RFC 3079). On failure it
// prints the domain controller's NT status, "text (0xc000006d)", which
// becomes a verdict (a wrong password, a disabled account: the DC's
// answer) or an error (winbind, the trust or the DC cannot be reached:
// the login fails closed).
//
// ntlm_auth runs without a shell, with a fixed environment, and every
// argument in the --name=value form: a value cannot become an option.
// The user name passed is the account's sAMAccountName as the directory
// holds it, never the typed one.

// maxNTLMAuthOutput bounds what is kept of ntlm_auth's output.
const maxNTLMAuthOutput = 4096

// ntStatus is what one NT status of a refused logon means: a verdict
// (reason and MS-CHAP error code, RFC 2759 section 6), or, with err set,
// a failure to decide.
type ntStatus struct {
	reason    string
	mschapErr int
	err       bool
}

// ntStatuses are the NT statuses (MS-ERREF 2.3.1) a domain controller or
// winbind answers a network logon with. Any other status is an error:
// the login fails closed and the status is logged.
var ntStatuses = map[uint32]ntStatus{
	// A network logon with a wrong password comes back as LOGON_FAILURE
	// (Windows and Samba do not say WRONG_PASSWORD there).
	0xc000006a: {reason: "wrong password", mschapErr: 691},                              // WRONG_PASSWORD
	0xc000006d: {reason: "wrong password", mschapErr: 691},                              // LOGON_FAILURE
	0xc0000064: {reason: "no such user in the domain", mschapErr: 691},                  // NO_SUCH_USER
	0xc0000072: {reason: "account disabled", mschapErr: 647},                            // ACCOUNT_DISABLED
	0xc0000234: {reason: "account locked", mschapErr: 647},                              // ACCOUNT_LOCKED_OUT
	0xc0000193: {reason: "account expired", mschapErr: 647},                             // ACCOUNT_EXPIRED
	0xc0000071: {reason: "password expired", mschapErr: 648},                            // PASSWORD_EXPIRED
	0xc0000224: {reason: "user must reset password", mschapErr: 648},                    // PASSWORD_MUST_CHANGE
	0xc000006f: {reason: "not permitted to log on at this time", mschapErr: 646},        // INVALID_LOGON_HOURS
	0xc0000070: {reason: "not permitted to log on at this workstation", mschapErr: 649}, // INVALID_WORKSTATION
	0xc000015b: {reason: "logon type not granted to this user", mschapErr: 649},         // LOGON_TYPE_NOT_GRANTED
	0xc000006e: {reason: "account restriction", mschapErr: 691},                         // ACCOUNT_RESTRICTION

	// Errors: nothing was decided.
	// UNSUCCESSFUL
	0xc0000001: {err: true, reason: "winbind did not answer: is winbindd running (it does not start on a machine that has not joined the domain: net ads join), and is the plugin's user in winbindd's privileged group (winbind_group)?"},
	// NO_LOGON_SERVERS
	0xc000005e: {err: true, reason: "no domain controller reachable"},
	// DOMAIN_CONTROLLER_NOT_FOUND
	0xc0000233: {err: true, reason: "no domain controller found"},
	// INVALID_SERVER_STATE
	0xc00000dc: {err: true, reason: "the domain controller is not running"},
	// NO_TRUST_SAM_ACCOUNT
	0xc000018b: {err: true, reason: "this machine is not joined to the domain (no machine account): net ads join"},
	// TRUSTED_RELATIONSHIP_FAILURE
	0xc000018d: {err: true, reason: "this machine's trust with the domain is broken: net ads testjoin, then join again"},
	// NOLOGON_WORKSTATION_TRUST_ACCOUNT
	0xc0000199: {err: true, reason: "this machine's trust with the domain is broken: net ads testjoin, then join again"},
	// NO_SUCH_DOMAIN
	0xc00000df: {err: true, reason: "winbind does not know the domain: is this machine joined to it (net ads join)?"},
	// ACCESS_DENIED
	0xc0000022: {err: true, reason: "winbind refused the request: is this machine joined (net ads testjoin)?"},
	// CANT_ACCESS_DOMAIN_INFO
	0xc00000da: {err: true, reason: "winbind cannot reach the domain: is this machine joined and a domain controller up?"},
	// DOWNGRADE_DETECTED
	0xc0000388: {err: true, reason: "the domain controller refuses the secure channel: is this machine joined (net ads join)?"},
}

// statusLine is the end of ntlm_auth's report of a refused logon:
// "... (0xc000006d)".
var statusLine = regexp.MustCompile(`\((0x[0-9a-fA-F]{8})\)\s*$`)

// verifyWinbind is VerifyMSCHAPv2 for mschapv2: winbind.
func (b *Backend) verifyWinbind(ctx context.Context, o *Options, search *pool, user string, r sdk.MSCHAPv2Request) (sdk.MSCHAPv2Verdict, error) {
	refuse := func(why string, code int) (sdk.MSCHAPv2Verdict, error) {
		return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{Reason: why, MSCHAPError: code}}, nil
	}
	if why := checkName(user); why != "" {
		return refuse(why, 691)
	}
	if why := o.domainRefusal(user); why != "" {
		return refuse(why, 691)
	}
	a, err := o.find(ctx, search, user, false)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	if why := a.refusal(); why != "" {
		// The directory's answer, before the DC counts a bad password
		// against a disabled or locked account.
		code := 691
		if a.disabled || a.locked {
			code = 647
		}
		return refuse(why, code)
	}
	if checkName(a.sam) != "" || strings.ContainsAny(a.sam, `\@`) {
		return refuse("the account has no usable sAMAccountName in the directory", 691)
	}
	challenge := mschapv2.ChallengeHash(r.PeerChallenge, r.AuthenticatorChallenge, r.UserName)
	key, st, err := o.ntlmAuth(ctx, a.sam, challenge, r.NTResponse)
	if err != nil {
		return sdk.MSCHAPv2Verdict{}, err
	}
	if st != nil {
		return refuse(st.reason, st.mschapErr)
	}
	return sdk.MSCHAPv2Verdict{Verdict: sdk.Verdict{OK: true}, PasswordHashHash: key}, nil
}

// domainRefusal checks the domain part of a down-level "DOMAIN\name"
// against the joined domain (its NetBIOS name or its DNS name); "" when
// it matches or the name has none. Only with mschapv2: winbind, where the
// back-end knows which domain the machine joined. A "name@suffix" is
// looked up by its userPrincipalName in this domain's directory: the
// directory decides whether the suffix is one of this domain's.
func (o *Options) domainRefusal(name string) string {
	if o.MSCHAPv2 != MSCHAPv2Winbind {
		return ""
	}
	i := strings.LastIndexByte(name, '\\')
	if i < 0 {
		return ""
	}
	d := name[:i]
	if strings.EqualFold(d, o.WinbindDomain) || strings.EqualFold(d, o.Realm) {
		return ""
	}
	return fmt.Sprintf("domain %q is not this gateway's domain %s (%s)", d, o.WinbindDomain, o.Realm)
}

// ntlmAuth runs ntlm_auth for account (a sAMAccountName) and returns the
// NT session key, or the status of a refused logon, or an error when
// nothing was decided.
func (o *Options) ntlmAuth(ctx context.Context, account string, challenge [8]byte, ntResponse [24]byte) (*[16]byte, *ntStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, o.OpTimeout)
	defer cancel()
	args := []string{"--request-nt-key", "--allow-mschapv2",
		"--username=" + account, "--domain=" + o.WinbindDomain,
		"--challenge=" + hex.EncodeToString(challenge[:]), "--nt-response=" + hex.EncodeToString(ntResponse[:])}
	if o.SMBConf != "" {
		args = append([]string{"--configfile=" + o.SMBConf}, args...)
	}
	cmd := exec.CommandContext(ctx, o.NTLMAuth, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}
	var stdout, stderr capped
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, nil, fmt.Errorf("ntlm_auth for %s: no answer within %s: %w", account, time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, nil, fmt.Errorf("run ntlm_auth (%s): %w", o.NTLMAuth, err)
	}
	last := lastLine(stdout.Bytes())
	if err == nil {
		for _, line := range strings.Split(stdout.String(), "\n") {
			h, ok := strings.CutPrefix(strings.TrimSpace(line), "NT_KEY: ")
			var key [16]byte
			if ok && len(h) == 32 {
				if _, err := hex.Decode(key[:], []byte(h)); err == nil {
					return &key, nil, nil
				}
			}
		}
		return nil, nil, fmt.Errorf("ntlm_auth for %s accepted the logon but printed no NT_KEY (%q)", account, last)
	}
	m := statusLine.FindStringSubmatch(last)
	if m == nil {
		return nil, nil, fmt.Errorf("ntlm_auth for %s: %s: %q %q", account, err, last, lastLine(stderr.Bytes()))
	}
	code, _ := strconv.ParseUint(m[1][2:], 16, 32)
	st, ok := ntStatuses[uint32(code)]
	if code == statusLogonFailure {
		// Also what a member whose machine account the domain no
		// longer has gets (its secure channel cannot be set up): ask
		// winbind whether the channel to the DC works.
		if err := o.pingDC(ctx); err != nil {
			return nil, nil, fmt.Errorf("ntlm_auth for %s: %s: %w", account, last, err)
		}
	}
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("ntlm_auth for %s: domain controller or winbind answered %s: %s", account, m[1], last)
	case st.err:
		return nil, nil, fmt.Errorf("ntlm_auth for %s: %s (%s: %s)", account, st.reason, m[1], last)
	}
	return nil, &st, nil
}

// statusLogonFailure is NT_STATUS_LOGON_FAILURE.
const statusLogonFailure = 0xc000006d

// pingDC asks winbind whether this machine's secure channel (netlogon)
// with a domain controller works: wbinfo --ping-dc, which needs no
// privilege (wbinfo reads no smb.conf: it only talks to winbindd).
func (o *Options) pingDC(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, o.Wbinfo, "--ping-dc")
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "LC_ALL=C"}
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("wbinfo --ping-dc: no answer: %w", ctx.Err())
	case err != nil && !errors.As(err, &exit):
		return fmt.Errorf("cannot tell a wrong password from a broken trust: run wbinfo (%s): %w", o.Wbinfo, err)
	case err != nil:
		return fmt.Errorf("this machine's secure channel with the domain does not work (its machine account was deleted or reset? net ads testjoin, then net ads join): wbinfo --ping-dc: %s", lastLine(out.Bytes()))
	}
	return nil
}

// lastLine is the last line of b that is not blank.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// capped is a buffer that keeps the first maxNTLMAuthOutput bytes
// written to it and discards the rest.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxNTLMAuthOutput - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
