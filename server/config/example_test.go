package config_test

import (
	"fmt"

	"github.com/gatehouse-vpn/gatehouse/server/config"
)

func ExampleParse() {
	_, problems := config.Parse("gatehouse.yaml", []byte(`
backends:
  Password: {type: local}
  OATH: {type: oath, digits: 9}
services:
  pptp:
    polcy: Password and OATH
    login_timeout: 10
pptp:
  auth: {pap: true}
`))
	for _, p := range problems {
		fmt.Println(p)
	}
	// Output:
	// gatehouse.yaml:4:30: backends.OATH.digits: must be from 6 to 8, got 9
	// gatehouse.yaml:6:3: services.pptp: missing required key "policy"
	// gatehouse.yaml:7:5: services.pptp: unknown key "polcy"; did you mean "policy"?
	// gatehouse.yaml:8:20: services.pptp.login_timeout: bare number 10 is not a duration; write a duration such as 10s
	// gatehouse.yaml:10:15: warning: pptp.auth.pap: PAP sends the password in clear text and gives no MPPE keys; turn it on only for clients that can do nothing else
}

func ExampleService_PolicyColumn() {
	c, _ := config.Parse("gatehouse.yaml", []byte(`
backends:
  Password: {type: local}
services:
  pptp:
    policy: "Password and OTP"
`))
	s, _ := c.Services.Get("pptp")
	// A policy compiler reports that column 14 ("OTP") names no back-end.
	fmt.Println(s.PolicyColumn(14))
	// Output:
	// 6:27
}
