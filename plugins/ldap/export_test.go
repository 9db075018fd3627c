package ldap

import "context"

// Exported for the tests of package ldap_test.
var (
	CheckName   = checkName
	ParseNTHash = parseNTHash
	GroupNames  = groupNames
)

func (o *Options) UserFilterOf(name string) string { return o.userFilter(name) }

// NTLMAuthOf runs ntlm_auth as VerifyMSCHAPv2 does with mschapv2: winbind.
func (o *Options) NTLMAuthOf(ctx context.Context, account string, challenge [8]byte, resp [24]byte) (key *[16]byte, reason string, mschapErr int, err error) {
	key, st, err := o.ntlmAuth(ctx, account, challenge, resp)
	if st != nil {
		reason, mschapErr = st.reason, st.mschapErr
	}
	return key, reason, mschapErr, err
}

func (o *Options) DomainRefusal(name string) string { return o.domainRefusal(name) }
