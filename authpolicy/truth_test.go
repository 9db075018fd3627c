package authpolicy_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/authpolicy"
	"github.com/gatehouse-vpn/gatehouse/authpolicy/memory"
)

// TestTruthTable checks the evaluator against a brute-force model: a login
// with secret S is accepted iff some branch has every back-end up and the
// concatenation of its factors' secrets, in order, is S; the first such
// branch decides. Every back-end has a fixed-length secret made of its own
// letter, so every concatenation is unambiguous and the model is exact.
// Random policies, every up/down state of the back-ends, every secret a
// sequence of up to three distinct back-ends can form, both credential kinds.
func TestTruthTable(t *testing.T) {
	names := []string{"A", "B", "C"}
	secrets := map[string]string{"A": "aa", "B": "bbb", "C": "cccc"}
	r := rand.New(rand.NewPCG(7, 11))

	var candidates [][]string // sequences of distinct back-ends
	var perms func(prefix []string)
	perms = func(prefix []string) {
		if len(prefix) > 0 {
			candidates = append(candidates, append([]string(nil), prefix...))
		}
		if len(prefix) == 3 {
			return
		}
		for _, n := range names {
			if !strings.Contains(strings.Join(prefix, ","), n) {
				perms(append(prefix, n))
			}
		}
	}
	perms(nil)

	checked := 0
	for i := 0; checked < 60; i++ {
		policy := authpolicy.Print(randomPolicy(r, names, 3))
		backends := map[string]authpolicy.Backend{}
		mems := map[string]*memory.Backend{}
		for _, n := range names {
			m := memory.New(memory.Options{Capabilities: authpolicy.CapFragments | authpolicy.CapVerifyPlaintext,
				Lengths: []int{len(secrets[n])}})
			m.SetUser("u", memory.User{Secrets: []string{secrets[n]}})
			backends[n], mems[n] = m, m
		}
		e, err := authpolicy.NewEngine(backends, []authpolicy.Service{{Name: "s", Policy: policy}}, nil)
		if err != nil {
			continue // e.g. "A and A": rejected at compile time, tested elsewhere
		}
		checked++
		p, _ := e.Policy("s")
		for state := 0; state < 1<<len(names); state++ {
			up := map[string]bool{}
			for j, n := range names {
				up[n] = state&(1<<j) == 0
				if up[n] {
					mems[n].SetFault(0, nil)
				} else {
					mems[n].SetFault(0, errors.New("down"))
				}
			}
			for _, seq := range candidates {
				var typed strings.Builder
				for _, n := range seq {
					typed.WriteString(secrets[n])
				}
				want := ""
				for _, b := range p.Branches {
					ok := strings.Join(b.Factors, ",") == strings.Join(seq, ",")
					for _, f := range b.Factors {
						ok = ok && up[f]
					}
					if ok {
						want = b.String()
						break
					}
				}
				for _, cred := range []authpolicy.Credential{plainCred("u", typed.String()), mschapCred("u", typed.String())} {
					res, err := e.Authenticate(context.Background(), "s", cred)
					if err != nil {
						t.Fatal(err)
					}
					if res.Branch != want || res.Accepted != (want != "") {
						t.Fatalf("policy %q, up %v, %s secret %q: got accepted=%v branch %q (%s), want branch %q",
							policy, up, cred.Kind, typed.String(), res.Accepted, res.Branch, res.Reason(), want)
					}
				}
			}
		}
	}
	t.Logf("checked %d random policies", checked)
}

func randomPolicy(r *rand.Rand, names []string, depth int) authpolicy.Expr {
	if depth == 0 || r.IntN(3) == 0 {
		return &authpolicy.Name{Name: names[r.IntN(len(names))]}
	}
	terms := []authpolicy.Expr{randomPolicy(r, names, depth-1), randomPolicy(r, names, depth-1)}
	if r.IntN(2) == 0 {
		return &authpolicy.And{Terms: terms}
	}
	return &authpolicy.Or{Terms: terms}
}
