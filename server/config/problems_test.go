package config

import (
	"strings"
	"testing"
)

// base is a valid file that most cases extend; it is lines 1-5.
const base = `backends:
  Password: {type: local}
services:
  pptp: {policy: Password}
  radius: {policy: Password}
`

type problemCase struct {
	name string
	text string
	want []string
}

// TestProblems checks the exact text of what each broken file reports: the
// position, the path, the message with the expected form.
func TestProblems(t *testing.T) {
	groups := map[string][]problemCase{
		"syntax":   syntaxCases,
		"keys":     keyCases,
		"types":    typeCases,
		"semantic": semanticCases,
		"warnings": warningCases,
	}
	for group, cases := range groups {
		for _, tt := range cases {
			t.Run(group+"/"+tt.name, func(t *testing.T) {
				_, ps := Parse("gatehouse.yaml", []byte(tt.text))
				var got []string
				for _, p := range ps {
					got = append(got, p.String())
				}
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("problems of\n%s\ngot:\n\t%s\nwant:\n\t%s", tt.text,
						strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
				}
			})
		}
	}
}

var syntaxCases = []problemCase{
	{"valid", base, nil},
	{"empty file", "", []string{
		`gatehouse.yaml: the file is empty; it needs at least backends and services`,
	}},
	{"only comments", "# nothing yet\n", []string{
		`gatehouse.yaml: the file is empty; it needs at least backends and services`,
	}},
	{"empty document", "---\n", []string{
		`gatehouse.yaml: the file is empty; it needs at least backends and services`,
	}},
	{"tab indentation", base + "pptp:\n\tenabled: true\n", []string{
		`gatehouse.yaml:7:1: a tab in the indentation of line 7: YAML indents with spaces only; replace the tab with spaces (found character that cannot start any token)`,
	}},
	{"tab after spaces", base + "pptp:\n  \tenabled: true\n", []string{
		`gatehouse.yaml:7:3: a tab in the indentation of line 7: YAML indents with spaces only; replace the tab with spaces (found character that cannot start any token)`,
	}},
	{"mapping on one line", base + "log: level: debug\n", []string{
		`gatehouse.yaml:6:11: invalid YAML: mapping values are not allowed in this context`,
	}},
	{"bad indentation", base + "pptp:\n  enabled: true\n mtu: 1400\n", []string{
		`gatehouse.yaml:8:2: invalid YAML: did not find expected key`,
	}},
	{"unterminated quote", base + "state_dir: 'abc\n", []string{
		`gatehouse.yaml:6:12: invalid YAML: found unexpected end of stream`,
	}},
	{"error on the first line", "log: level: debug\n" + base, []string{
		`gatehouse.yaml:1:11: invalid YAML: mapping values are not allowed in this context`,
	}},
	{"second document", base + "---\nlog: {}\n", []string{
		`gatehouse.yaml:6:1: a second YAML document; the file must hold exactly one`,
	}},
	{"not a mapping", "- backends\n- services\n", []string{
		`gatehouse.yaml:1:1: expected a mapping of sections such as backends and services, got a list`,
	}},
}

var keyCases = []problemCase{
	{"unknown key, close", "backends:\n  Password: {type: local}\nservices:\n  pptp:\n    polcy: Password\n", []string{
		`gatehouse.yaml:4:3: services.pptp: missing required key "policy"`,
		`gatehouse.yaml:5:5: services.pptp: unknown key "polcy"; did you mean "policy"?`,
	}},
	{"unknown key, far", base + "log:\n  colour: blue\n", []string{
		`gatehouse.yaml:7:3: log: unknown key "colour" (valid keys: level, format, file, max_size, max_files, syslog, syslog_tag, index, retention, index_max_size)`,
	}},
	{"unknown section", base + "servics: {}\n", []string{
		`gatehouse.yaml:6:1: unknown key "servics"; did you mean "services"?`,
	}},
	{"key of another back-end type", "backends:\n  OATH: {type: oath, users: {}}\n  P: {type: local, digits: 6}\nservices:\n  pptp: {policy: OATH}\n", []string{
		`gatehouse.yaml:2:22: backends.OATH: key "users" is for type memory, not oath`,
		`gatehouse.yaml:3:20: backends.P: key "digits" is for type oath or digipass, not local`,
	}},
	{"missing required key", "backends:\n  Password: {type: local}\nservices:\n  pptp:\n    login_timeout: 5s\n", []string{
		`gatehouse.yaml:4:3: services.pptp: missing required key "policy"`,
	}},
	{"required key without value", "backends:\n  Password: {type: local}\nservices:\n  pptp:\n    policy:\n", []string{
		`gatehouse.yaml:5:12: services.pptp.policy: expected a string, got nothing`,
	}},
	{"missing sections", "log: {level: debug}\n", []string{
		`gatehouse.yaml:1:1: missing required key "backends"`,
		`gatehouse.yaml:1:1: missing required key "services"`,
	}},
	{"missing type", "backends:\n  X: {digits: 6}\nservices:\n  pptp: {policy: X}\n", []string{
		`gatehouse.yaml:2:3: backends.X: missing required key "type"`,
	}},
	{"duplicate keys", "backends:\n  Password: {type: local}\n  Password: {type: oath}\nservices:\n  pptp: {policy: Password, policy: X}\n", []string{
		`gatehouse.yaml:3:3: backends: duplicate key "Password" (first at line 2)`,
		`gatehouse.yaml:5:28: services.pptp: duplicate key "policy" (first at line 5)`,
	}},
	{"merge key", "backends:\n  P: &p {type: local}\n  Q:\n    <<: *p\nservices:\n  pptp: {policy: P}\n", []string{
		`gatehouse.yaml:3:3: backends.Q: missing required key "type"`,
		`gatehouse.yaml:4:5: backends.Q: merge keys (<<) are not supported; write the keys out`,
	}},
	{"aliases are fine", "backends:\n  P: &p {type: local}\n  Q: *p\nservices:\n  pptp: {policy: P}\n", nil},
	{"key is a list", base + "? [a]\n: 1\n", []string{
		`gatehouse.yaml:6:3: expected a key, got a list`,
	}},
}

var typeCases = []problemCase{
	{"duration got mapping", base + "plugins:\n  call_timeout: {s: 1}\n", []string{
		`gatehouse.yaml:7:17: plugins.call_timeout: expected a duration such as 10s, got a mapping`,
	}},
	{"duration bare number", base + "plugins:\n  call_timeout: 30\n", []string{
		`gatehouse.yaml:7:17: plugins.call_timeout: bare number 30 is not a duration; write a duration such as 10s`,
	}},
	{"duration bare zero is fine", base + "pptp:\n  idle_timeout: 0\n", nil},
	{"duration word", base + "plugins:\n  call_timeout: soon\n", []string{
		`gatehouse.yaml:7:17: plugins.call_timeout: expected a duration such as 10s, got "soon"`,
	}},
	{"duration negative", base + "plugins:\n  call_timeout: -1s\n", []string{
		`gatehouse.yaml:7:17: plugins.call_timeout: must not be negative, got -1s`,
	}},
	{"duration below min", base + "plugins:\n  call_timeout: 0s\n", []string{
		`gatehouse.yaml:7:17: plugins.call_timeout: must be at least 1ms, got 0s`,
	}},
	{"bool", base + "pptp:\n  proxy_arp: yes\n", []string{
		`gatehouse.yaml:7:14: pptp.proxy_arp: expected true or false, got "yes"`,
	}},
	{"bool is lower case", base + "pptp:\n  proxy_arp: True\n", []string{
		`gatehouse.yaml:7:14: pptp.proxy_arp: expected true or false, got "True"`,
	}},
	{"int word", base + "pptp:\n  mtu: big\n", []string{
		`gatehouse.yaml:7:8: pptp.mtu: expected a whole number, got "big"`,
	}},
	{"int range", base + "pptp:\n  mtu: 9000\n", []string{
		`gatehouse.yaml:7:8: pptp.mtu: must be from 576 to 1500, got 9000`,
	}},
	{"int overflow", base + "pptp:\n  mtu: 99999999999999999999999\n", []string{
		`gatehouse.yaml:7:8: pptp.mtu: 99999999999999999999999 is out of range`,
	}},
	{"int range in a list", "backends:\n  D: {type: digipass, digits: [6, 9]}\nservices:\n  pptp: {policy: D}\n", []string{
		`gatehouse.yaml:2:35: backends.D.digits[1]: must be from 6 to 8, got 9`,
	}},
	{"string got list", base + "state_dir: [a]\n", []string{
		`gatehouse.yaml:6:12: state_dir: expected a string, got a list`,
	}},
	{"list got scalar", base + "pptp:\n  dns: 10.0.0.1\n", []string{
		`gatehouse.yaml:7:8: pptp.dns: expected a list of IP addresses such as 10.99.0.1, got "10.0.0.1"`,
	}},
	{"mapping got scalar", base + "log: debug\n", []string{
		`gatehouse.yaml:6:6: log: expected a mapping, got "debug"`,
	}},
	{"enum", base + "log:\n  level: verbose\n", []string{
		`gatehouse.yaml:7:10: log.level: expected one of debug, info, warn, error, got "verbose"`,
	}},
	{"enum close", base + "log:\n  level: inf\n", []string{
		`gatehouse.yaml:7:10: log.level: expected one of debug, info, warn, error, got "inf"; did you mean "info"?`,
	}},
	{"back-end type", "backends:\n  X: {type: ldapp}\nservices:\n  pptp: {policy: X}\n", []string{
		`gatehouse.yaml:2:13: backends.X.type: expected one of local, oath, digipass, ldap, radius, plugin, memory, got "ldapp"; did you mean "ldap"?`,
	}},
	{"on or off", base + "pptp:\n  access:\n    default: yes\n", []string{
		`gatehouse.yaml:8:14: pptp.access.default: expected one of on, off, got "yes"`,
	}},
	{"IP address", base + "pptp:\n  local_address: 10.0.0.300\n", []string{
		`gatehouse.yaml:7:18: pptp.local_address: expected an IP address such as 10.99.0.1, got "10.0.0.300"`,
	}},
	{"address and port", base + "admin:\n  listen: localhost:9723\n", []string{
		`gatehouse.yaml:7:11: admin.listen: expected an address and port such as 0.0.0.0:1723, got "localhost:9723"`,
	}},
	{"ports and actions", base + "firewall:\n  policies:\n    p:\n      - {action: allow, proto: tcp, ports: \"22,70000\"}\n      - {action: allow, proto: tcp, ports: \"30-20\"}\n      - {action: alow}\n", []string{
		`gatehouse.yaml:9:44: firewall.policies.p[0].ports: expected ports such as "22,443,1000-2000", got "22,70000": port 70000 is outside 1-65535`,
		`gatehouse.yaml:10:44: firewall.policies.p[1].ports: expected ports such as "22,443,1000-2000", got "30-20": range 30-20 runs backwards`,
		`gatehouse.yaml:11:18: firewall.policies.p[2].action: expected one of allow, drop, got "alow"; did you mean "allow"?`,
	}},
	{"many at once", base + "log: {level: loud, format: xml}\npptp: {mtu: 1, proxy_arp: 1, echo_interval: 5}\n", []string{
		`gatehouse.yaml:6:14: log.level: expected one of debug, info, warn, error, got "loud"`,
		`gatehouse.yaml:6:28: log.format: expected one of json, text, got "xml"`,
		`gatehouse.yaml:7:13: pptp.mtu: must be from 576 to 1500, got 1`,
		`gatehouse.yaml:7:27: pptp.proxy_arp: expected true or false, got "1"`,
		`gatehouse.yaml:7:45: pptp.echo_interval: bare number 5 is not a duration; write a duration such as 10s`,
	}},
}

var semanticCases = []problemCase{
	{"pool backwards", base + "pptp:\n  pool: {first: 10.0.0.20, last: 10.0.0.10}\n  local_address: 10.0.0.1\n", []string{
		`gatehouse.yaml:7:17: pptp.pool: first 10.0.0.20 comes after last 10.0.0.10`,
	}},
	{"pool families", base + "pptp:\n  pool: {first: 10.0.0.20, last: 'fd00::1'}\n", []string{
		`gatehouse.yaml:7:34: pptp.pool: first 10.0.0.20 and last fd00::1 are of different address families`,
	}},
	{"pool IPv6", base + "pptp:\n  pool: {first: 'fd00::1', last: 'fd00::9'}\n  local_address: 'fd00::ff'\n", []string{
		`gatehouse.yaml:7:17: pptp.pool: must hold IPv4 addresses (PPP's IPCP assigns IPv4 only), got fd00::1`,
		`gatehouse.yaml:8:18: pptp.local_address: must be an IPv4 address (PPP's IPCP assigns IPv4 only), got fd00::ff`,
	}},
	{"pool unset", base + "pptp:\n  pool: {first: ''}\n", []string{
		`gatehouse.yaml:7:17: pptp.pool.first: must be set, such as 10.99.0.10`,
	}},
	{"local address in pool", base + "pptp:\n  local_address: 10.99.0.20\n", []string{
		`gatehouse.yaml:7:18: pptp.local_address: 10.99.0.20 lies inside the pool 10.99.0.10-10.99.0.250; the gateway's own address must not be handed to a client`,
	}},
	{"services named", base + "pptp:\n  service: ppt\nradius_server:\n  enabled: true\n  service: vpn\n  clients: [{prefix: 127.0.0.0/8, secret_file: s}]\n", []string{
		`gatehouse.yaml:7:12: pptp.service: service "ppt" is not defined in services; did you mean "pptp"?`,
		`gatehouse.yaml:10:12: radius_server.service: service "vpn" is not defined in services (defined: pptp, radius)`,
	}},
	{"default service missing", "backends:\n  P: {type: local}\nservices:\n  vpn: {policy: P}\n", []string{
		`gatehouse.yaml: pptp.service: the default service "pptp" is not defined in services (defined: vpn)`,
	}},
	{"disabled front door names nothing", "backends:\n  P: {type: local}\nservices:\n  vpn: {policy: P}\npptp: {enabled: false}\n", nil},
	{"echo", base + "pptp:\n  echo_interval: 30s\n  echo_timeout: 30s\n", []string{
		`gatehouse.yaml:8:17: pptp.echo_timeout: must be longer than echo_interval (30s), got 30s`,
	}},
	{"dns and wins", base + "pptp:\n  dns: [10.0.0.1, 10.0.0.2, 10.0.0.3]\n  wins: ['fd00::1']\n", []string{
		`gatehouse.yaml:7:29: pptp.dns: at most 2 servers (IPCP offers a primary and a secondary), got 3`,
		`gatehouse.yaml:8:10: pptp.wins[0]: must be an IPv4 address (IPCP offers IPv4 servers only), got fd00::1`,
	}},
	{"back-end names", "backends:\n  1st: {type: local}\n  and: {type: local}\n  OR: {type: local}\n  a.b: {type: local}\nservices:\n  pptp: {policy: x}\n  radius: {policy: x}\n", []string{
		`gatehouse.yaml:2:3: backends.1st: back-end name "1st" must start with a letter`,
		`gatehouse.yaml:3:3: backends.and: back-end name "and" is a keyword of the policy language; choose another`,
		`gatehouse.yaml:4:3: backends.OR: back-end name "OR" is a keyword of the policy language; choose another`,
		`gatehouse.yaml:5:3: backends.a.b: back-end name "a.b" may hold only letters, digits, '-' and '_'`,
	}},
	{"plugins", "plugins:\n  external:\n    x: {binary: b, sha256: abc}\n    y: {binary: ''}\nbackends:\n  V: {type: plugin, plugin: z, capabilities: [fragments, verify-plain, bogus]}\n  W: {type: plugin, plugin: x}\nservices:\n  pptp: {policy: V}\n  radius: {policy: V}\n", []string{
		`gatehouse.yaml:3:28: plugins.external.x.sha256: expected 64 hexadecimal digits (the binary's SHA-256, as sha256sum prints it), got "abc"`,
		`gatehouse.yaml:4:5: plugins.external.y: missing required key "sha256"`,
		`gatehouse.yaml:4:17: plugins.external.y.binary: must not be empty`,
		`gatehouse.yaml:6:29: backends.V.plugin: plugin "z" is not defined in plugins.external; did you mean "x"?`,
		`gatehouse.yaml:6:58: backends.V.capabilities[1]: unknown capability "verify-plain"; valid: fragments, verify-mschapv2, verify-plaintext, identity`,
		`gatehouse.yaml:6:72: backends.V.capabilities[2]: unknown capability "bogus"; valid: fragments, verify-mschapv2, verify-plaintext, identity`,
		`gatehouse.yaml:7:3: backends.W: a plugin back-end needs capabilities: any of fragments, verify-mschapv2, verify-plaintext, identity`,
	}},
	{"firewall", base + "firewall:\n  policies:\n    staff:\n      - {action: allow, proto: icmp, ports: '22'}\n      - {action: allow, to: 10.0.0.1/8}\n  groups: {g: stuff, h: nope}\n  users:\n    bob: {mode: use_group, policy: staff}\n    carol: {mode: add_to_group}\n    dave: {mode: overrule_group, policy: ghost}\n    eve: {policy: staff}\n  default_policy: open\n", []string{
		`gatehouse.yaml:9:45: firewall.policies.staff[0].ports: ports need proto tcp or udp, got proto icmp`,
		`gatehouse.yaml:10:29: firewall.policies.staff[1].to: 10.0.0.1/8 has host bits set; write 10.0.0.0/8`,
		`gatehouse.yaml:11:15: firewall.groups.g: policy "stuff" is not defined in firewall.policies; did you mean "staff"?`,
		`gatehouse.yaml:11:25: firewall.groups.h: policy "nope" is not defined in firewall.policies (defined: staff)`,
		`gatehouse.yaml:13:36: firewall.users.bob.policy: mode use_group takes no policy; use add_to_group or overrule_group`,
		`gatehouse.yaml:14:5: firewall.users.carol: mode add_to_group needs a policy`,
		`gatehouse.yaml:15:42: firewall.users.dave.policy: policy "ghost" is not defined in firewall.policies (defined: staff)`,
		`gatehouse.yaml:16:5: firewall.users.eve: missing required key "mode"`,
		`gatehouse.yaml:17:19: firewall.default_policy: policy "open" is not defined in firewall.policies (defined: staff)`,
	}},
	{"store", base + "store: {driver: postgres, key_file: ''}\n", []string{
		`gatehouse.yaml:6:17: store: driver postgres needs dsn_file, the file holding the connection string`,
		`gatehouse.yaml:6:37: store.key_file: must not be empty: the key seals the local passwords`,
	}},
	{"radius server", base + "radius_server:\n  enabled: true\n  listen: ''\n  clients:\n    - {prefix: 10.0.0.1/8, secret_file: ''}\n    - {secret_file: s}\n", []string{
		`gatehouse.yaml:8:11: radius_server.listen: must be set while radius_server is enabled, such as 0.0.0.0:1812`,
		`gatehouse.yaml:10:16: radius_server.clients[0].prefix: 10.0.0.1/8 has host bits set; write 10.0.0.0/8`,
		`gatehouse.yaml:10:41: radius_server.clients[0].secret_file: must not be empty`,
		`gatehouse.yaml:11:7: radius_server.clients[1]: missing required key "prefix"`,
	}},
	{"empty sections", "backends: {}\nservices: {}\n", []string{
		`gatehouse.yaml:1:11: backends: define at least one back-end`,
		`gatehouse.yaml:2:11: services: define at least one service`,
	}},
	{"digipass without lengths", "backends:\n  D: {type: digipass, digits: []}\nservices:\n  pptp: {policy: D}\n", []string{
		`gatehouse.yaml:2:31: backends.D.digits: list the code lengths the tokens show, such as [6, 8]`,
	}},
	{"empty policy", "backends:\n  P: {type: local}\nservices:\n  pptp: {policy: ''}\n  radius: {policy: P}\n", []string{
		`gatehouse.yaml:4:18: services.pptp.policy: must not be empty; write a policy such as "Password and OATH"`,
	}},
	{"memory secret lengths", "backends:\n  M:\n    type: memory\n    lengths: [6]\n    users:\n      alice: ['123456', '12345']\nservices:\n  pptp: {policy: M}\n  radius: {policy: M}\n", []string{
		`gatehouse.yaml:2:3: warning: backends.M: secrets in plaintext in the config, for tests and demos only`,
		`gatehouse.yaml:6:25: backends.M.users.alice[1]: secret is 5 bytes long, but lengths allows only 6`,
	}},
}

var warningCases = []problemCase{
	{"weak authentication and encryption", base + "pptp:\n  auth: {pap: true, chap_md5: true, mschapv1: true}\n  mppe: {required: false, bits_40: true, bits_56: true}\n", []string{
		`gatehouse.yaml:7:15: warning: pptp.auth.pap: PAP sends the password in clear text and gives no MPPE keys; turn it on only for clients that can do nothing else`,
		`gatehouse.yaml:7:31: warning: pptp.auth.chap_md5: CHAP-MD5 gives no MPPE keys, so the session cannot be encrypted; turn it on only for clients that can do nothing else`,
		`gatehouse.yaml:7:47: warning: pptp.auth.mschapv1: MS-CHAPv1 responses can be cracked offline; turn it on only for clients that can do nothing else`,
		`gatehouse.yaml:7:47: warning: pptp.auth.mschapv1: after MS-CHAPv1, 40- and 56-bit MPPE keys come from the LAN Manager hash (RFC 3079 section 2), which Gatehouse never has: it keys them from the NT hash as Linux does, and Linux pppd refuses them anyway; MS-CHAPv1 clients should use 128-bit`,
		`gatehouse.yaml:8:20: warning: pptp.mppe.required: sessions may run unencrypted`,
		`gatehouse.yaml:8:36: warning: pptp.mppe.bits_40: 40-bit MPPE keys can be found by brute force; recorded traffic is readable`,
		`gatehouse.yaml:8:51: warning: pptp.mppe.bits_56: 56-bit MPPE keys can be found by brute force; recorded traffic is readable`,
	}},
	{"memory back-end", "backends:\n  Demo: {type: memory, users: {alice: [x]}}\nservices:\n  pptp: {policy: Demo}\n  radius: {policy: Demo}\n", []string{
		`gatehouse.yaml:2:3: warning: backends.Demo: secrets in plaintext in the config, for tests and demos only`,
	}},
	{"dsn_file with sqlite", base + "store: {dsn_file: pg.dsn}\n", []string{
		`gatehouse.yaml:6:19: warning: store.dsn_file: is read only with driver postgres; this store is SQLite (store/gatehouse.db)`,
	}},
	{"small pool", base + "pptp:\n  pool: {first: 10.99.0.10, last: 10.99.0.19}\n", []string{
		`gatehouse.yaml:6:1: warning: pptp.max_connections: the pool 10.99.0.10-10.99.0.19 holds 10 addresses, fewer than max_connections 100`,
	}},
	{"RADIUS server without clients", base + "radius_server:\n  enabled: true\n", []string{
		`gatehouse.yaml:6:1: warning: radius_server.clients: no clients: every request will be dropped`,
	}},
	{"RADIUS reply attributes", base + "radius_server:\n  reply_attributes: {Filter-Id: vpn, Session-Timeout: soon, Framed-Pool: p}\n", []string{
		`gatehouse.yaml:7:55: radius_server.reply_attributes.Session-Timeout: "soon" is not a whole number of seconds (or bytes, for Framed-MTU)`,
		`gatehouse.yaml:7:61: radius_server.reply_attributes.Framed-Pool: unknown attribute; the front door can add Filter-Id, Class, Reply-Message, Session-Timeout, Idle-Timeout, Framed-MTU, Acct-Interim-Interval`,
	}},
	{"challenge on a PPTP-only service", "backends:\n  Password: {type: local}\n  OATH: {type: oath}\nservices:\n  pptp: {policy: Password and OATH, challenge: true}\n  radius: {policy: Password and OATH, challenge: true}\n", []string{
		`gatehouse.yaml:5:48: warning: services.pptp.challenge: challenge only applies to the RADIUS front door (Access-Challenge), and only the PPTP front door uses this service: PPTP cannot show a second prompt, so its users keep typing the password and the code together`,
	}},
	{"challenge on a service both front doors use", "backends:\n  Password: {type: local}\n  OATH: {type: oath}\nservices:\n  pptp: {policy: Password and OATH, challenge: true}\nradius_server: {enabled: true, service: pptp, clients: [{prefix: 127.0.0.0/8, secret_file: s}]}\n", nil},
	{"challenge settings", base + "radius_server:\n  challenge_message: ''\n  challenge_timeout: 5s\n  max_challenges: 0\n  max_challenges_per_user: 101\n", []string{
		`gatehouse.yaml:7:22: radius_server.challenge_message: must be 1 to 253 bytes long (it is the Reply-Message of the Access-Challenge)`,
		`gatehouse.yaml:8:22: radius_server.challenge_timeout: must be from 10s to 10m0s, got 5s`,
		`gatehouse.yaml:9:19: radius_server.max_challenges: must be from 1 to 1000000, got 0`,
		`gatehouse.yaml:10:28: radius_server.max_challenges_per_user: must be from 1 to 100, got 101`,
	}},
	{"RADIUS accounting", base + "radius_accounting:\n  servers: [192.0.2.1, 192.0.2.2:1813]\n", []string{
		`gatehouse.yaml:7:3: radius_accounting.secret_file: must be set when radius_accounting.servers is`,
		`gatehouse.yaml:7:13: radius_accounting.servers[0]: "192.0.2.1" is not host:port, such as 192.0.2.10:1813`,
	}},
}
