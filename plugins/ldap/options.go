package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
)

// Directory is the kind of directory server; it chooses the defaults of
// the filters, the group look-up and the account-state attributes.
type Directory string

// The directory kinds.
const (
	// DirectoryAD is Active Directory (and Samba AD): sAMAccountName and
	// userPrincipalName, nested groups with the in-chain matching rule,
	// userAccountControl and lockoutTime.
	DirectoryAD Directory = "ad"
	// DirectoryOpenLDAP is OpenLDAP with the memberof and ppolicy
	// overlays: uid and mail, memberOf, pwdAccountLockedTime and
	// sambaAcctFlags.
	DirectoryOpenLDAP Directory = "openldap"
)

// GroupMode is how a user's groups are found.
type GroupMode string

// The group modes.
const (
	// GroupsMemberOf reads the user's memberOf attribute (direct groups).
	GroupsMemberOf GroupMode = "memberof"
	// GroupsNested asks Active Directory for every group that contains the
	// user, directly or through other groups (LDAP_MATCHING_RULE_IN_CHAIN,
	// 1.2.840.113556.1.4.1941).
	GroupsNested GroupMode = "nested"
	// GroupsSearch searches group_base_dn with group_filter, for
	// directories without memberOf.
	GroupsSearch GroupMode = "search"
)

// InChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN.
const InChainRule = "1.2.840.113556.1.4.1941"

// The option names, as sdk.ConfigKey names and as the keys under
// "options:" of a back-end of type ldap in the gateway's configuration.
// The gateway reads bind_password_file and ca_file itself (as root) and
// hands the plugin bind_password and ca_pem instead, so those files need
// not be readable by the plugin's user.
var configKeys = []sdk.ConfigKey{
	{Name: "url", Required: true, Description: "LDAP servers, space- or comma-separated, tried in order: ldap://host[:389] or ldaps://host[:636]"},
	{Name: "base_dn", Required: true, Description: "where users are searched (subtree)"},
	{Name: "directory", Description: "ad or openldap: chooses the defaults below (default openldap)"},
	{Name: "start_tls", Description: "true: StartTLS on ldap:// URLs before anything else (default false)"},
	{Name: "ca_file", Description: "PEM CA certificates that verify the server (default: the system's)"},
	{Name: "ca_pem", Description: "the same CA certificates inline (the gateway passes ca_file this way)"},
	{Name: "tls_server_name", Description: "name to verify in the server certificate (default: the URL's host)"},
	{Name: "tls_insecure_skip_verify", Description: "true turns certificate verification off: for tests only"},
	{Name: "bind_dn", Description: "service account that searches (AD: also user@realm); empty: anonymous search"},
	{Name: "bind_password", Description: "the service account's password (the gateway passes bind_password_file this way)"},
	{Name: "bind_password_file", Description: "file holding the service account's password (first line)"},
	{Name: "user_filter", Description: "filter for an account name; {user} is the escaped name (default ad: (&(objectClass=user)(sAMAccountName={user})), openldap: (uid={user}))"},
	{Name: "upn_filter", Description: "filter for a name with @ (default ad: (&(objectClass=user)(userPrincipalName={user})), openldap: (mail={user}))"},
	{Name: "groups", Description: "memberof, nested (AD in-chain) or search (default ad: nested, openldap: memberof)"},
	{Name: "group_base_dn", Description: "where groups are searched (default base_dn)"},
	{Name: "group_filter", Description: "groups=search: filter with {dn}, the user's escaped DN (default (|(member={dn})(uniqueMember={dn})))"},
	{Name: "group_name_attribute", Description: "attribute naming a group (default cn)"},
	{Name: "nt_hash_attribute", Description: "attribute with the NT hash (sambaNTPassword): enables MS-CHAPv2"},
	{Name: "mschapv2", Description: "how MS-CHAPv2 is checked: nt_hash (read nt_hash_attribute) or winbind (Active Directory, through ntlm_auth on a domain member); default nt_hash when nt_hash_attribute is set, else none"},
	{Name: "winbind_domain", Description: "mschapv2 winbind: the NetBIOS name of the domain this machine joined (workgroup in smb.conf), e.g. EXAMPLE"},
	{Name: "realm", Description: "mschapv2 winbind: the domain's DNS name, accepted like winbind_domain in DOMAIN\\user (default: the DC= parts of base_dn)"},
	{Name: "ntlm_auth", Description: "mschapv2 winbind: Samba's ntlm_auth (default /usr/bin/ntlm_auth)"},
	{Name: "wbinfo", Description: "mschapv2 winbind: Samba's wbinfo, which tells a wrong password from a broken trust (default /usr/bin/wbinfo)"},
	{Name: "smb_conf", Description: "mschapv2 winbind: the smb.conf ntlm_auth reads (default: ntlm_auth's own, /etc/samba/smb.conf)"},
	{Name: "winbind_group", Description: "mschapv2 winbind: the group of winbindd's privileged pipe, which the gateway gives the plugin (default winbindd_priv)"},
	{Name: "attributes", Description: "user attributes returned with the identity, comma-separated (e.g. mail)"},
	{Name: "connect_timeout", Description: "bound on one TCP+TLS connect (default 3s)"},
	{Name: "timeout", Description: "bound on each LDAP operation (default 5s)"},
	{Name: "pool_size", Description: "idle connections kept per pool (default 4; 0: one connection per login)"},
}

// How MS-CHAPv2 is checked (option mschapv2).
const (
	// MSCHAPv2NTHash reads the NT hash from nt_hash_attribute and checks
	// the response itself.
	MSCHAPv2NTHash = "nt_hash"
	// MSCHAPv2Winbind hands the challenge and response to the domain
	// controller through winbind (ntlm_auth --request-nt-key) on a
	// machine joined to the domain.
	MSCHAPv2Winbind = "winbind"
)

// The defaults of the winbind options.
const (
	DefaultNTLMAuth     = "/usr/bin/ntlm_auth"
	DefaultWbinfo       = "/usr/bin/wbinfo"
	DefaultWinbindGroup = "winbindd_priv"
)

// maxNameLen bounds a user name: longer names are refused before any
// filter is built (AD's userPrincipalName is at most 1024 characters,
// sAMAccountName 20).
const maxNameLen = 256

// Options is the parsed configuration of the back-end.
type Options struct {
	URLs          []string
	BaseDN        string
	Directory     Directory
	StartTLS      bool
	TLS           *tls.Config // nil for plain ldap:// without StartTLS
	BindDN        string
	BindPassword  Secret
	UserFilter    string
	UPNFilter     string
	Groups        GroupMode
	GroupBaseDN   string
	GroupFilter   string
	GroupNameAttr string
	NTHashAttr    string
	// MSCHAPv2 is "", MSCHAPv2NTHash or MSCHAPv2Winbind; the winbind
	// fields below are set for MSCHAPv2Winbind.
	MSCHAPv2      string
	WinbindDomain string
	Realm         string
	NTLMAuth      string
	Wbinfo        string
	SMBConf       string
	WinbindGroup  string
	Attributes    []string
	ConnectTO     time.Duration
	OpTimeout     time.Duration
	PoolSize      int
}

// Secret is a password that redacts itself in logs and formatting.
type Secret struct{ s string }

// Reveal returns the secret.
func (s Secret) Reveal() string { return s.s }

// String redacts.
func (s Secret) String() string { return "REDACTED" }

// GoString redacts.
func (s Secret) GoString() string { return "REDACTED" }

// LogValue redacts.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// ParseOptions checks and fills in defaults; every problem is reported
// (errors.Join).
func ParseOptions(o map[string]string) (*Options, error) {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	p := &Options{
		BaseDN:        o["base_dn"],
		Directory:     Directory(strings.ToLower(orDefault(o["directory"], string(DirectoryOpenLDAP)))),
		BindDN:        o["bind_dn"],
		GroupNameAttr: orDefault(o["group_name_attribute"], "cn"),
		NTHashAttr:    o["nt_hash_attribute"],
	}
	for _, u := range strings.FieldsFunc(o["url"], func(r rune) bool { return r == ',' || r == ' ' }) {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ldap" && pu.Scheme != "ldaps") || pu.Host == "" {
			bad("url: %q is not ldap://host[:port] or ldaps://host[:port]", u)
			continue
		}
		p.URLs = append(p.URLs, u)
	}
	if len(p.URLs) == 0 && o["url"] != "" {
		bad("url: no usable server in %q", o["url"])
	} else if len(p.URLs) == 0 {
		bad("url: name at least one server")
	}
	if p.BaseDN == "" {
		bad("base_dn: required")
	}
	switch p.Directory {
	case DirectoryAD:
		p.UserFilter, p.UPNFilter, p.Groups = "(&(objectClass=user)(sAMAccountName={user}))", "(&(objectClass=user)(userPrincipalName={user}))", GroupsNested
	case DirectoryOpenLDAP:
		p.UserFilter, p.UPNFilter, p.Groups = "(uid={user})", "(mail={user})", GroupsMemberOf
	default:
		bad("directory: expected ad or openldap, got %q", o["directory"])
	}
	p.UserFilter = orDefault(o["user_filter"], p.UserFilter)
	p.UPNFilter = orDefault(o["upn_filter"], p.UPNFilter)
	for _, f := range []struct{ name, v, ph string }{{"user_filter", p.UserFilter, "{user}"}, {"upn_filter", p.UPNFilter, "{user}"}} {
		if !strings.Contains(f.v, f.ph) || !strings.HasPrefix(f.v, "(") {
			bad("%s: %q must be a parenthesised filter containing %s", f.name, f.v, f.ph)
		}
	}
	if g := o["groups"]; g != "" {
		p.Groups = GroupMode(strings.ToLower(g))
	}
	switch p.Groups {
	case GroupsMemberOf, GroupsNested, GroupsSearch:
	default:
		bad("groups: expected memberof, nested or search, got %q", o["groups"])
	}
	p.GroupBaseDN = orDefault(o["group_base_dn"], p.BaseDN)
	p.GroupFilter = orDefault(o["group_filter"], "(|(member={dn})(uniqueMember={dn}))")
	if !strings.Contains(p.GroupFilter, "{dn}") {
		bad("group_filter: %q must contain {dn}", p.GroupFilter)
	}
	errs = append(errs, p.parseMSCHAPv2(o)...)
	for _, a := range strings.Split(o["attributes"], ",") {
		if a = strings.TrimSpace(a); a != "" {
			p.Attributes = append(p.Attributes, a)
		}
	}
	var err error
	if p.StartTLS, err = parseBool(o, "start_tls"); err != nil {
		errs = append(errs, err)
	}
	insecure, err := parseBool(o, "tls_insecure_skip_verify")
	if err != nil {
		errs = append(errs, err)
	}
	if p.ConnectTO, err = parseDuration(o, "connect_timeout", 3*time.Second); err != nil {
		errs = append(errs, err)
	}
	if p.OpTimeout, err = parseDuration(o, "timeout", 5*time.Second); err != nil {
		errs = append(errs, err)
	}
	p.PoolSize = 4
	if s := o["pool_size"]; s != "" {
		if p.PoolSize, err = strconv.Atoi(s); err != nil || p.PoolSize < 0 || p.PoolSize > 64 {
			bad("pool_size: expected 0 to 64, got %q", s)
		}
	}
	switch {
	case o["bind_password"] != "" && o["bind_password_file"] != "":
		bad("bind_password and bind_password_file: set one, not both")
	case o["bind_password_file"] != "":
		b, err := os.ReadFile(o["bind_password_file"])
		if err != nil {
			bad("bind_password_file: %v", err)
		}
		p.BindPassword = Secret{FirstLine(b)}
	default:
		p.BindPassword = Secret{o["bind_password"]}
	}
	if p.BindDN != "" && p.BindPassword.s == "" {
		bad("bind_dn is set but its password is empty: set bind_password_file (an empty password would be an unauthenticated bind)")
	}
	tlsNeeded := p.StartTLS
	for _, u := range p.URLs {
		tlsNeeded = tlsNeeded || strings.HasPrefix(u, "ldaps:")
	}
	if tlsNeeded || o["ca_file"] != "" || o["ca_pem"] != "" {
		p.TLS = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o["tls_server_name"], InsecureSkipVerify: insecure}
		pem := []byte(o["ca_pem"])
		if f := o["ca_file"]; f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				bad("ca_file: %v", err)
			}
			pem = append(pem, b...)
		}
		if len(pem) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				bad("ca_file/ca_pem: no PEM certificate found")
			}
			p.TLS.RootCAs = pool
		}
	}
	return p, errors.Join(errs...)
}

// parseMSCHAPv2 reads option mschapv2 and, for winbind, the options
// that go with it.
func (p *Options) parseMSCHAPv2(o map[string]string) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	p.MSCHAPv2 = strings.ToLower(o["mschapv2"])
	if p.MSCHAPv2 == "" && p.NTHashAttr != "" {
		p.MSCHAPv2 = MSCHAPv2NTHash
	}
	switch p.MSCHAPv2 {
	case "":
	case MSCHAPv2NTHash:
		if p.NTHashAttr == "" {
			bad("mschapv2: nt_hash needs nt_hash_attribute")
		}
	case MSCHAPv2Winbind:
		if p.NTHashAttr != "" {
			bad("mschapv2: winbind asks the domain controller, nt_hash_attribute reads the directory: set one, not both")
		}
		if p.Directory != DirectoryAD {
			bad("mschapv2: winbind is for Active Directory: set directory: ad")
		}
	default:
		bad("mschapv2: expected nt_hash or winbind, got %q", o["mschapv2"])
	}
	winbind := p.MSCHAPv2 == MSCHAPv2Winbind
	for _, k := range []string{"winbind_domain", "realm", "ntlm_auth", "wbinfo", "smb_conf", "winbind_group"} {
		if o[k] != "" && !winbind {
			bad("%s: only with mschapv2: winbind", k)
		}
	}
	if !winbind {
		return errs
	}
	p.WinbindDomain = strings.ToUpper(o["winbind_domain"])
	if p.WinbindDomain == "" {
		bad("winbind_domain: required with mschapv2: winbind (the workgroup of the smb.conf this machine joined with, e.g. EXAMPLE)")
	} else if !netbiosDomain.MatchString(p.WinbindDomain) {
		bad("winbind_domain: %q is not a NetBIOS domain name (1 to 15 letters, digits, - and _)", o["winbind_domain"])
	}
	p.Realm = strings.ToLower(o["realm"])
	if p.Realm == "" {
		p.Realm = realmOf(p.BaseDN)
	}
	if p.Realm == "" {
		bad("realm: required when base_dn has no DC= parts to take it from")
	} else if !dnsName.MatchString(p.Realm) {
		bad("realm: %q is not a DNS domain name", p.Realm)
	}
	p.NTLMAuth = orDefault(o["ntlm_auth"], DefaultNTLMAuth)
	if !filepath.IsAbs(p.NTLMAuth) {
		bad("ntlm_auth: %q is not an absolute path", p.NTLMAuth)
	}
	p.Wbinfo = orDefault(o["wbinfo"], DefaultWbinfo)
	if !filepath.IsAbs(p.Wbinfo) {
		bad("wbinfo: %q is not an absolute path", p.Wbinfo)
	}
	p.SMBConf = o["smb_conf"]
	if p.SMBConf != "" && !filepath.IsAbs(p.SMBConf) {
		bad("smb_conf: %q is not an absolute path", p.SMBConf)
	}
	p.WinbindGroup = orDefault(o["winbind_group"], DefaultWinbindGroup)
	return errs
}

var (
	netbiosDomain = regexp.MustCompile(`^[A-Z0-9][A-Z0-9_-]{0,14}$`)
	dnsName       = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*$`)
)

// realmOf is the DNS domain of an Active Directory DN: its DC= parts
// joined with dots (OU=Staff,DC=example,DC=com is example.com).
func realmOf(baseDN string) string {
	dn, err := ldap.ParseDN(baseDN)
	if err != nil {
		return ""
	}
	var parts []string
	for _, rdn := range dn.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, "dc") {
				parts = append(parts, strings.ToLower(a.Value))
			}
		}
	}
	return strings.Join(parts, ".")
}

// FirstLine returns the first line of a password file, without its line
// ending.
func FirstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func parseBool(o map[string]string, key string) (bool, error) {
	v := o[key]
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: expected true or false, got %q", key, v)
	}
	return b, nil
}

func parseDuration(o map[string]string, key string, def time.Duration) (time.Duration, error) {
	v := o[key]
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return def, fmt.Errorf("%s: expected a positive duration such as 5s, got %q", key, v)
	}
	return d, nil
}
