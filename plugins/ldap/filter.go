package ldap

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/gatehouse-vpn/gatehouse/authpolicy/mschapv2"
)

// checkName refuses a user name that no directory account can have before
// it goes anywhere near a filter: empty, longer than maxNameLen bytes, not
// UTF-8, with leading or trailing white space, or holding a control
// character (NUL included). It returns the
// reason, or "" for a name that may be looked up.
func checkName(name string) string {
	switch {
	case name == "":
		return "empty user name"
	case len(name) > maxNameLen:
		return "user name too long"
	case !utf8.ValidString(name):
		return "user name is not UTF-8"
	case strings.TrimSpace(name) != name:
		// Directory matching rules ignore them, so "alice " would
		// log in as alice under another name.
		return "user name starts or ends with white space"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "user name holds a control character"
		}
	}
	return ""
}

// accountName is the name to search for: with directory ad, a down-level
// "DOMAIN\name" (as Windows PPTP clients send it) is looked up as name,
// whatever the domain (one domain per back-end). Elsewhere the name is
// searched as typed: a backslash is an ordinary character in a uid.
func (o *Options) accountName(name string) string {
	if o.Directory == DirectoryAD {
		return mschapv2.StripDomain(name)
	}
	return name
}

// userFilter builds the search filter for name: the UPN filter when the
// name holds an @, the account-name filter otherwise. The name is escaped
// as an assertion value (RFC 4515 section 3: *, (, ), \ and NUL, and every
// byte outside ASCII as \XX), so no name can change the filter's shape.
func (o *Options) userFilter(name string) string {
	tmpl := o.UserFilter
	if strings.Contains(name, "@") {
		tmpl = o.UPNFilter
	}
	return strings.ReplaceAll(tmpl, "{user}", ldap.EscapeFilter(name))
}

// groupFilter is the group search filter for a user's DN.
func (o *Options) groupFilter(dn string) string {
	return strings.ReplaceAll(o.GroupFilter, "{dn}", ldap.EscapeFilter(dn))
}

// inChainFilter asks Active Directory for every group containing dn,
// transitively.
func inChainFilter(dn string) string {
	return "(member:" + InChainRule + ":=" + ldap.EscapeFilter(dn) + ")"
}
