package sdk_test

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gatehouse-vpn/gatehouse/plugins/sdk"
	"github.com/gatehouse-vpn/gatehouse/plugins/sdk/sdktest"
)

// allowList is a complete Gatehouse plugin back-end: it accepts the users
// and passwords listed in its configuration. Its main function is one line:
//
//	func main() { sdk.Serve(&allowList{}) }
type allowList struct {
	mu    sync.RWMutex
	users map[string]string
}

func (a *allowList) Describe(context.Context) (sdk.Description, error) {
	return sdk.Description{
		Name:         "allow-list",
		Version:      "1.0.0",
		Capabilities: []sdk.Capability{sdk.CapVerifyPlaintext, sdk.CapFragments},
		ConfigKeys: []sdk.ConfigKey{
			{Name: "users", Required: true, Description: "comma-separated user:password pairs"},
		},
	}, nil
}

func (a *allowList) Configure(_ context.Context, options map[string]string) error {
	users := map[string]string{}
	var problems []error
	for _, pair := range strings.Split(options["users"], ",") {
		user, password, ok := strings.Cut(strings.TrimSpace(pair), ":")
		if !ok || user == "" || password == "" {
			// Name the entry, never the password.
			problems = append(problems, fmt.Errorf("users: entry for %q is not user:password", user))
			continue
		}
		users[user] = password
	}
	if len(problems) > 0 {
		return errors.Join(problems...) // the operator sees each problem
	}
	a.mu.Lock()
	a.users = users
	a.mu.Unlock()
	return nil
}

func (a *allowList) password(user string) (string, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	p, ok := a.users[user]
	return p, ok
}

func (a *allowList) VerifyPlaintext(_ context.Context, user, secret string) (sdk.Verdict, error) {
	password, ok := a.password(user)
	if !ok {
		return sdk.Verdict{Reason: "unknown user"}, nil
	}
	if subtle.ConstantTimeCompare([]byte(password), []byte(secret)) != 1 {
		return sdk.Verdict{Reason: "wrong password"}, nil // a result, not an error
	}
	return sdk.Verdict{OK: true}, nil
}

func (a *allowList) Fragments(_ context.Context, user string) ([]sdk.Fragment, error) {
	password, ok := a.password(user)
	if !ok {
		return nil, nil
	}
	return []sdk.Fragment{{Secret: password}}, nil
}

// Example writes a back-end and runs the conformance kit on it, as a
// vendor's test would: the kit serves it over go-plugin and gRPC in this
// process and calls it the way the gateway does.
func Example() {
	failures, err := sdktest.Conformance(context.Background(), &allowList{}, sdktest.Options{
		Config: map[string]string{"users": "alice:correct horse, bob:battery staple"},
		User:   "alice",
		Secret: "correct horse",
	})
	if err != nil {
		fmt.Println("cannot serve:", err)
		return
	}
	for _, f := range failures {
		fmt.Println(f)
	}
	fmt.Println(len(failures), "failures")
	// Output: 0 failures
}
