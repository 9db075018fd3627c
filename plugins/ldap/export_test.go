package ldap

// Exported for the tests of package ldap_test.
var (
	CheckName   = checkName
	ParseNTHash = parseNTHash
	GroupNames  = groupNames
)

func (o *Options) UserFilterOf(name string) string { return o.userFilter(name) }
