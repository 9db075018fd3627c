package config

import (
	"errors"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
)

// Infos returns each configured back-end's capabilities, by name.
func (c *Config) Infos() map[string]authpolicy.Info {
	out := make(map[string]authpolicy.Info, c.Backends.Len())
	for name, b := range c.Backends.All() {
		if b != nil {
			out[name] = b.Info()
		}
	}
	return out
}

// ServiceKinds returns the credential kinds a service receives: from the
// PPTP front door MS-CHAPv2, and plaintext, MS-CHAPv1 and CHAP-MD5 when
// pptp.auth.pap, mschapv1 and chap_md5 enable them; MS-CHAPv2 and plaintext
// from the RADIUS front door, and CHAP-MD5 when radius_server.chap is on. A service that no enabled front door uses is
// checked for MS-CHAPv2 and plaintext, as "gatehouse policy eval" and a
// later front door may use it either way.
func (c *Config) ServiceKinds(service string) []authpolicy.CredentialKind {
	on := map[authpolicy.CredentialKind]bool{}
	if c.PPTP.Enabled && c.PPTP.Service == service {
		on[authpolicy.MSCHAPv2] = true
		on[authpolicy.Plaintext] = c.PPTP.Auth.PAP
		on[authpolicy.MSCHAPv1] = c.PPTP.Auth.MSCHAPv1
		on[authpolicy.CHAPMD5] = c.PPTP.Auth.CHAPMD5
	}
	if c.RADIUSServer.Enabled && c.RADIUSServer.Service == service {
		on[authpolicy.MSCHAPv2], on[authpolicy.Plaintext] = true, true
		if c.RADIUSServer.CHAP {
			on[authpolicy.CHAPMD5] = true
		}
	}
	if len(on) == 0 {
		on[authpolicy.MSCHAPv2], on[authpolicy.Plaintext] = true, true
	}
	var kinds []authpolicy.CredentialKind
	for _, k := range authpolicy.CredentialKinds {
		if on[k] {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// CheckPolicies compiles every service's policy against the configured
// back-ends and runs the static check of authpolicy for the credential kinds
// each service receives. Problems point into the policy text: a syntax
// error at its column, a finding at the policy's start.
func (c *Config) CheckPolicies() (map[string]*authpolicy.Policy, Problems) {
	infos := c.Infos()
	policies := map[string]*authpolicy.Policy{}
	var ps Problems
	for name, s := range c.Services.All() {
		if s == nil || s.Policy == "" {
			continue
		}
		path := "services." + name + ".policy"
		p, err := authpolicy.Compile(name, s.Policy, infos)
		if err != nil {
			// Several unknown back-ends come joined: one problem each.
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, err := range errs {
				pos := s.PolicyPos
				detail := ""
				var se *authpolicy.SyntaxError
				if errors.As(err, &se) {
					pos = s.PolicyColumn(se.Col)
					detail = se.Caret()
				}
				ps = append(ps, Problem{File: c.File, Line: pos.Line, Col: pos.Col, Path: path, Msg: err.Error(), Severity: Error, Detail: detail})
			}
			continue
		}
		policies[name] = p
		for _, f := range p.Check(c.ServiceKinds(name)) {
			sev := Error
			if f.Severity == authpolicy.SeverityWarning {
				sev = Warning
			}
			msg := f.Msg
			if f.Kind == authpolicy.MSCHAPv2 {
				for _, b := range p.Branches {
					if b.String() == f.Branch {
						msg += c.msCHAPv2Hint(b.Factors)
						break
					}
				}
			}
			ps = append(ps, Problem{File: c.File, Line: s.PolicyPos.Line, Col: s.PolicyPos.Col, Msg: msg, Severity: sev})
		}
		if s.Challenge && len(p.ChallengeBranches()) == 0 && !c.namesPlugin(p) && !c.radiusAlone(p) {
			path := "services." + name + ".challenge"
			pos := c.Pos(path)
			ps = append(ps, Problem{File: c.File, Line: pos.Line, Col: pos.Col, Path: path, Severity: Warning,
				Msg: "no branch of the policy combines a one-time-code back-end (oath, digipass) with another factor, nor has a radius back-end alone, so no login is ever challenged"})
		}
	}
	ps.sort()
	return policies, ps
}

// radiusAlone reports whether a branch of a policy is a radius back-end
// alone: its upstream server's Access-Challenge is passed on.
func (c *Config) radiusAlone(p *authpolicy.Policy) bool {
	for _, b := range p.Branches {
		if len(b.Factors) != 1 {
			continue
		}
		if be, ok := c.Backends.Get(b.Factors[0]); ok && be != nil && be.Type == BackendRADIUS {
			return true
		}
	}
	return false
}

// namesPlugin reports whether a policy names a plugin back-end: whether
// its codes are one-time is known only once the plugin runs.
func (c *Config) namesPlugin(p *authpolicy.Policy) bool {
	for _, b := range p.Branches {
		for _, name := range b.Factors {
			if be, ok := c.Backends.Get(name); ok && be != nil && be.Type == BackendPlugin {
				return true
			}
		}
	}
	return false
}
