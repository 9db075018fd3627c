package ppp_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// pair builds two automata whose negotiation needs one round of each
// kind: B Naks A's MRU once, A Rejects B's option 0x42 once.
func pair() (a, b *ppp.Automaton, pa, pb *ppptest.Peer) {
	mru := []byte{0x05, 0xdc}
	pa = &ppptest.Peer{
		Request: func(restart bool) []byte {
			if restart {
				mru = []byte{0x05, 0xdc}
			}
			magic := ppp.Option{Type: 5, Data: []byte{1, 2, 3, 4}}
			if mru == nil {
				return ppptest.Options(magic)
			}
			return ppptest.Options(ppp.Option{Type: 1, Data: mru}, magic)
		},
		Judge: func(v *ppp.Verdict) {
			for o := range v.Options.All() {
				if o.Type == 0x42 {
					v.Reject(o)
				}
			}
		},
		ApplyNak: func(n *ppp.Nak) error {
			if o, ok := n.Options.Find(1); ok {
				mru = slices.Clone(o.Data)
				if n.Reject {
					mru = nil // B gave up on it after Max-Failure
				}
			}
			return nil
		},
	}
	with42 := true
	pb = &ppptest.Peer{
		Request: func(restart bool) []byte {
			if restart {
				with42 = true
			}
			opts := ppptest.Options(ppp.Option{Type: 5, Data: []byte{9, 9, 9, 9}})
			if with42 {
				opts = ppptest.Options(ppp.Option{Type: 5, Data: []byte{9, 9, 9, 9}}, ppp.Option{Type: 0x42, Data: []byte{}})
			}
			return opts
		},
		Judge: func(v *ppp.Verdict) {
			if o, ok := v.Options.Find(1); ok && !bytes.Equal(o.Data, []byte{0x05, 0x78}) {
				v.Nak(ppp.Option{Type: 1, Data: []byte{0x05, 0x78}})
			}
		},
		ApplyNak: func(n *ppp.Nak) error {
			if n.Reject {
				with42 = false
			}
			return nil
		},
	}
	a = ppp.NewAutomaton(ppp.ProtoLCP, pa, nil)
	b = ppp.NewAutomaton(ppp.ProtoLCP, pb, nil)
	return a, b, pa, pb
}

func TestLinkConverges(t *testing.T) {
	drops := map[string]func(to, n int, pkt []byte) bool{
		"no loss":           nil,
		"every third":       func(_, n int, _ []byte) bool { return n%3 == 0 },
		"first five to B":   func(to, n int, _ []byte) bool { return to == 1 && n <= 5 },
		"all Acks once":     dropFirstOf(ppp.ConfigureAck),
		"all Naks once":     dropFirstOf(ppp.ConfigureNak),
		"all Rejects once":  dropFirstOf(ppp.ConfigureReject),
		"first nine to A":   func(to, n int, _ []byte) bool { return to == 0 && n <= 9 },
		"A's first request": func(to, n int, _ []byte) bool { return to == 1 && n == 1 },
	}
	for name, drop := range drops {
		t.Run(name, func(t *testing.T) {
			a, b, pa, pb := pair()
			l := ppptest.NewLink(a, b)
			l.Drop = drop
			a.Open()
			b.Open()
			a.Up()
			b.Up()
			l.Run(1000)
			checkOpened(t, l, a, b, pa, pb)
		})
	}
}

func dropFirstOf(code ppp.Code) func(int, int, []byte) bool {
	seen := map[int]bool{}
	return func(to, _ int, pkt []byte) bool {
		if ppp.Code(pkt[0]) == code && !seen[to] {
			seen[to] = true
			return true
		}
		return false
	}
}

func checkOpened(t *testing.T, l *ppptest.Link, a, b *ppp.Automaton, pa, pb *ppptest.Peer) {
	t.Helper()
	if a.State() != ppp.Opened || b.State() != ppp.Opened {
		t.Fatalf("A %v (%v), B %v (%v)\n%s", a.State(), a.Err(), b.State(), b.Err(), l)
	}
	if a.TimerRunning() || b.TimerRunning() {
		t.Errorf("timer running in Opened")
	}
	// Each side came up once and is up now.
	for _, p := range []*ppptest.Peer{pa, pb} {
		ups, downs := 0, 0
		for _, e := range p.Events {
			switch e {
			case "tlu":
				ups++
			case "tld":
				downs++
			}
		}
		if ups != downs+1 {
			t.Errorf("events %v", p.Events)
		}
	}
	if len(l.Errors) > 0 {
		t.Errorf("receive errors %v", l.Errors)
	}
}

// Random loss of 25% in both directions, many seeds: the negotiation
// always ends in Opened on both sides.
func TestLinkConvergesWithRandomLoss(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
			a, b, pa, pb := pair()
			l := ppptest.NewLink(a, b)
			l.Drop = func(int, int, []byte) bool { return r.IntN(4) == 0 }
			a.Open()
			a.Up()
			b.Open()
			b.Up()
			l.Run(5000)
			// The passive option: a side that gave up (Stopped) is
			// revived by the other's next Configure-Request, so
			// convergence holds unless both gave up.
			if a.State() == ppp.Stopped && b.State() == ppp.Stopped {
				t.Skipf("both sides exhausted Max-Configure")
			}
			checkOpened(t, l, a, b, pa, pb)
		})
	}
}

// Closing one side of an open link closes the other cleanly.
func TestLinkClose(t *testing.T) {
	a, b, pa, pb := pair()
	l := ppptest.NewLink(a, b)
	l.Drop = func(to, n int, _ []byte) bool { return n == 4 }
	a.Open()
	b.Open()
	a.Up()
	b.Up()
	l.Run(1000)
	checkOpened(t, l, a, b, pa, pb)
	a.Close(nil)
	l.Run(1000)
	if a.State() != ppp.Closed || b.State() != ppp.Stopped {
		t.Fatalf("A %v B %v\n%s", a.State(), b.State(), l)
	}
	if pa.Finished != ppp.ErrAdministrativeClose {
		t.Errorf("A finished %v", pa.Finished)
	}
	if _, ok := pb.Finished.(*ppp.TerminatedError); !ok {
		t.Errorf("B finished %v", pb.Finished)
	}
}
