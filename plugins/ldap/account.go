package ldap

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Account-state attributes read with every user search.
const (
	attrUAC         = "userAccountControl"                 // AD
	attrUACComputed = "msDS-User-Account-Control-Computed" // AD, constructed: knows when a lockout expired
	attrLockoutTime = "lockoutTime"                        // AD
	attrPwdLocked   = "pwdAccountLockedTime"               // OpenLDAP ppolicy (operational)
	attrSambaFlags  = "sambaAcctFlags"                     // Samba schema on OpenLDAP
	attrMemberOf    = "memberOf"
	attrSAMAccount  = "sAMAccountName" // AD: the account name winbind is given
)

// userAccountControl bits (MS-ADTS 2.2.16).
const (
	uacAccountDisable = 0x2
	uacLockout        = 0x10
)

// account is what one user search found.
type account struct {
	found            bool
	dn               string
	disabled, locked bool
	ambiguous        bool
	groups           []string
	attrs            map[string][]string
	ntHash           []byte
	sam              string // sAMAccountName, read with mschapv2: winbind
}

// refusal says why the account may not log in, or "".
func (a *account) refusal() string {
	switch {
	case a.ambiguous:
		return "user name matches several directory entries"
	case !a.found:
		return "no such user in the directory"
	case a.disabled:
		return "account disabled"
	case a.locked:
		return "account locked"
	}
	return ""
}

// find searches the user (whose name checkName accepted) as the service
// account, reads its state and, with groups, its groups.
func (o *Options) find(ctx context.Context, search *pool, name string, groups bool) (*account, error) {
	attrs := []string{attrUAC, attrUACComputed, attrLockoutTime, attrPwdLocked, attrSambaFlags}
	if groups && o.Groups == GroupsMemberOf {
		attrs = append(attrs, attrMemberOf)
	}
	if o.NTHashAttr != "" {
		attrs = append(attrs, o.NTHashAttr)
	}
	if o.MSCHAPv2 == MSCHAPv2Winbind {
		attrs = append(attrs, attrSAMAccount)
	}
	attrs = append(attrs, o.Attributes...)
	a := &account{}
	lookup := o.accountName(name)
	if lookup == "" {
		return a, nil
	}
	err := search.do(ctx, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest(o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
			2, 0, false, o.userFilter(lookup), attrs, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || res != nil && len(res.Entries) > 1 {
			a.ambiguous = true
			return nil
		}
		if err != nil {
			return err
		}
		if len(res.Entries) == 0 {
			return nil
		}
		e := res.Entries[0]
		a.found, a.dn = true, e.DN
		a.disabled, a.locked = accountState(e)
		if o.NTHashAttr != "" {
			a.ntHash = e.GetEqualFoldRawAttributeValue(o.NTHashAttr)
		}
		a.sam = e.GetEqualFoldAttributeValue(attrSAMAccount)
		if len(o.Attributes) > 0 {
			a.attrs = map[string][]string{}
			for _, name := range o.Attributes {
				if v := e.GetEqualFoldAttributeValues(name); len(v) > 0 {
					a.attrs[name] = v
				}
			}
		}
		if groups && o.Groups == GroupsMemberOf {
			a.groups = groupNames(e.GetEqualFoldAttributeValues(attrMemberOf))
		}
		if groups && o.Groups != GroupsMemberOf {
			filter := o.groupFilter(e.DN)
			if o.Groups == GroupsNested {
				filter = inChainFilter(e.DN)
			}
			gr, err := c.Search(ldap.NewSearchRequest(o.GroupBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
				0, 0, false, filter, []string{o.GroupNameAttr}, nil))
			if err != nil {
				return fmt.Errorf("search the groups of %s: %w", e.DN, err)
			}
			for _, g := range gr.Entries {
				if n := g.GetEqualFoldAttributeValue(o.GroupNameAttr); n != "" {
					a.groups = append(a.groups, n)
				}
			}
			slices.Sort(a.groups)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search user %q: %w", name, err)
	}
	return a, nil
}

// accountState reads disabled and locked from whichever of the
// directories' attributes the entry has.
//
//	AD        userAccountControl ACCOUNTDISABLE; locked by
//	          msDS-User-Account-Control-Computed LOCKOUT when the server
//	          computes it, else by a non-zero lockoutTime
//	ppolicy   pwdAccountLockedTime present: locked
//	Samba     sambaAcctFlags [D...] disabled, [L...] locked
func accountState(e *ldap.Entry) (disabled, locked bool) {
	if uac, ok := parseInt(e.GetEqualFoldAttributeValue(attrUAC)); ok {
		disabled = uac&uacAccountDisable != 0
	}
	if uac, ok := parseInt(e.GetEqualFoldAttributeValue(attrUACComputed)); ok {
		locked = uac&uacLockout != 0
	} else if t, ok := parseInt(e.GetEqualFoldAttributeValue(attrLockoutTime)); ok {
		locked = t != 0
	}
	if e.GetEqualFoldAttributeValue(attrPwdLocked) != "" {
		locked = true
	}
	if f := e.GetEqualFoldAttributeValue(attrSambaFlags); f != "" {
		flags := strings.Trim(f, "[] ")
		disabled = disabled || strings.ContainsRune(flags, 'D')
		locked = locked || strings.ContainsRune(flags, 'L')
	}
	return disabled, locked
}

// parseInt reads a directory integer; AD writes userAccountControl as a
// signed 32-bit decimal and lockoutTime as a 64-bit FILETIME.
func parseInt(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return v, err == nil
}

// groupNames turns memberOf DNs into group names: the value of each DN's
// first RDN (cn=vpn-users,ou=groups,... is vpn-users). A value that is not
// a DN is skipped.
func groupNames(dns []string) []string {
	var out []string
	for _, s := range dns {
		dn, err := ldap.ParseDN(s)
		if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) == 0 {
			continue
		}
		out = append(out, dn.RDNs[0].Attributes[0].Value)
	}
	slices.Sort(out)
	return out
}
