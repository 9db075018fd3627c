package ppp_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/ppp"
	"github.com/gatehouse-vpn/gatehouse/server/ppp/ppptest"
)

// rfc1661Table is the state transition table of RFC 1661 section 4.1,
// copied from the RFC as printed, in its two halves.
const rfc1661Table = `
      | State
      |    0         1         2         3         4         5
Events| Initial   Starting  Closed    Stopped   Closing   Stopping
------+-----------------------------------------------------------
 Up   |    2     irc,scr/6     -         -         -         -
 Down |    -         -         0       tls/1       0         1
 Open |  tls/1       1     irc,scr/6     3r        5r        5r
 Close|    0       tlf/0       2         2         4         4
      |
  TO+ |    -         -         -         -       str/4     str/5
  TO- |    -         -         -         -       tlf/2     tlf/3
      |
 RCR+ |    -         -       sta/2 irc,scr,sca/8   4         5
 RCR- |    -         -       sta/2 irc,scr,scn/6   4         5
 RCA  |    -         -       sta/2     sta/3       4         5
 RCN  |    -         -       sta/2     sta/3       4         5
      |
 RTR  |    -         -       sta/2     sta/3     sta/4     sta/5
 RTA  |    -         -         2         3       tlf/2     tlf/3
      |
 RUC  |    -         -       scj/2     scj/3     scj/4     scj/5
 RXJ+ |    -         -         2         3         4         5
 RXJ- |    -         -       tlf/2     tlf/3     tlf/2     tlf/3
      |
 RXR  |    -         -         2         3         4         5

      | State
      |    6         7         8           9
Events| Req-Sent  Ack-Rcvd  Ack-Sent    Opened
------+-----------------------------------------
 Up   |    -         -         -           -
 Down |    1         1         1         tld/1
 Open |    6         7         8           9r
 Close|irc,str/4 irc,str/4 irc,str/4 tld,irc,str/4
      |
  TO+ |  scr/6     scr/6     scr/8         -
  TO- |  tlf/3p    tlf/3p    tlf/3p        -
      |
 RCR+ |  sca/8   sca,tlu/9   sca/8   tld,scr,sca/8
 RCR- |  scn/6     scn/7     scn/6   tld,scr,scn/6
 RCA  |  irc/7     scr/6x  irc,tlu/9   tld,scr/6x
 RCN  |irc,scr/6   scr/6x  irc,scr/8   tld,scr/6x
      |
 RTR  |  sta/6     sta/6     sta/6   tld,zrc,sta/5
 RTA  |    6         6         8       tld,scr/6
      |
 RUC  |  scj/6     scj/7     scj/8       scj/9
 RXJ+ |    6         6         8           9
 RXJ- |  tlf/3     tlf/3     tlf/3   tld,irc,str/5
      |
 RXR  |    6         7         8         ser/9
`

// tableCell is one parsed cell; legal is false for "-".
type tableCell struct {
	legal   bool
	actions []string
	next    ppp.State
}

// parseRFCTable reads the printed table into [event][state] cells.
func parseRFCTable(t *testing.T) [ppp.NumEvents][ppp.NumStates]tableCell {
	t.Helper()
	var cells [ppp.NumEvents][ppp.NumStates]tableCell
	var seen [ppp.NumEvents][ppp.NumStates]bool
	first := 0
	for line := range strings.Lines(rfc1661Table) {
		label, rest, ok := strings.Cut(line, "|")
		if !ok {
			continue
		}
		label = strings.TrimSpace(label)
		fields := strings.Fields(rest)
		if label == "" && len(fields) > 1 && fields[0] != "State" {
			first, _ = strconv.Atoi(fields[0]) // the column numbers
			continue
		}
		ev := -1
		for e := range ppp.NumEvents {
			if ppp.Event(e).String() == label {
				ev = e
			}
		}
		if ev < 0 {
			continue
		}
		for i, f := range fields {
			s := first + i
			c := tableCell{}
			if f != "-" {
				c.legal = true
				acts, next, ok := strings.Cut(f, "/")
				if !ok {
					next, acts = acts, ""
				}
				next = strings.TrimRight(next, "rpx") // footnotes
				n, err := strconv.Atoi(next)
				if err != nil {
					t.Fatalf("table cell %q: %v", f, err)
				}
				c.next = ppp.State(n)
				if acts != "" {
					c.actions = strings.Split(acts, ",")
				}
			}
			cells[ev][s] = c
			seen[ev][s] = true
		}
	}
	for e := range ppp.NumEvents {
		for s := range ppp.NumStates {
			if !seen[e][s] {
				t.Fatalf("table has no cell for %v in %v", ppp.Event(e), ppp.State(s))
			}
		}
	}
	return cells
}

// recorder is a LinkHandler that logs the observable actions.
type recorder struct {
	log *[]string
}

func (r recorder) AppendConfigureRequest(dst []byte, restart bool) []byte {
	return append(dst, 0x01, 0x04, 0x05, 0xdc) // MRU 1500
}

func (r recorder) ReceiveConfigureRequest(v *ppp.Verdict) {
	for o := range v.Options.All() {
		if o.Type == 0xee {
			v.Nak(ppp.Option{Type: 0xee, Data: []byte{1}})
		}
	}
}

func (r recorder) ReceiveConfigureNak(*ppp.Nak) error { return nil }
func (r recorder) ThisLayerUp()                       { *r.log = append(*r.log, "tlu") }
func (r recorder) ThisLayerDown()                     { *r.log = append(*r.log, "tld") }
func (r recorder) ThisLayerStarted()                  { *r.log = append(*r.log, "tls") }
func (r recorder) ThisLayerFinished(error)            { *r.log = append(*r.log, "tlf") }
func (r recorder) MagicNumber() uint32                { return 0x01020304 }
func (r recorder) ReceiveEcho(ppp.Packet)             {}
func (r recorder) ReceiveProtocolReject(ppp.Protocol, []byte) {
}

var sentActions = map[ppp.Code]string{
	ppp.ConfigureRequest: "scr",
	ppp.ConfigureAck:     "sca",
	ppp.ConfigureNak:     "scn",
	ppp.ConfigureReject:  "scn",
	ppp.TerminateRequest: "str",
	ppp.TerminateAck:     "sta",
	ppp.CodeReject:       "scj",
	ppp.EchoReply:        "ser",
}

const (
	outstandingID = 42
	sentinel      = 7 // a Restart counter value irc and zrc never set
)

var ourRequest = []byte{0x01, 0x04, 0x05, 0xdc}

func pkt(code ppp.Code, id uint8, data ...byte) []byte {
	return ppp.Packet{Code: code, Identifier: id, Data: data}.Append(nil)
}

// trigger causes ev on a.
func trigger(t *testing.T, a *ppp.Automaton, ev ppp.Event) {
	t.Helper()
	receive := func(b []byte) {
		if err := a.Receive(b); err != nil {
			t.Fatalf("Receive: %v", err)
		}
	}
	switch ev {
	case ppp.Up:
		a.Up()
	case ppp.Down:
		a.Down()
	case ppp.Open:
		a.Open()
	case ppp.Close:
		a.Close(nil)
	case ppp.TOPlus, ppp.TOMinus:
		a.Timeout()
	case ppp.RCRPlus:
		receive(pkt(ppp.ConfigureRequest, 9, 0x05, 0x06, 0xca, 0xfe, 0xba, 0xbe))
	case ppp.RCRMinus:
		receive(pkt(ppp.ConfigureRequest, 9, 0xee, 0x03, 0x00))
	case ppp.RCA:
		receive(pkt(ppp.ConfigureAck, outstandingID, ourRequest...))
	case ppp.RCN:
		receive(pkt(ppp.ConfigureNak, outstandingID, 0x01, 0x04, 0x05, 0x78))
	case ppp.RTR:
		receive(pkt(ppp.TerminateRequest, 9))
	case ppp.RTA:
		receive(pkt(ppp.TerminateAck, 9))
	case ppp.RUC:
		receive(pkt(0x99, 9, 1, 2, 3))
	case ppp.RXJPlus:
		receive(pkt(ppp.CodeReject, 9, byte(ppp.EchoRequest), 3, 0, 8, 0, 0, 0, 0))
	case ppp.RXJMinus:
		receive(pkt(ppp.CodeReject, 9, byte(ppp.ConfigureRequest), 3, 0, 4))
	case ppp.RXR:
		receive(pkt(ppp.EchoRequest, 9, 0xaa, 0xbb, 0xcc, 0xdd, 'h', 'i'))
	default:
		t.Fatalf("no trigger for %v", ev)
	}
}

// TestTransitionTable checks every state × event against the RFC's table:
// the next state, the actions in order, and the Restart counter for irc
// and zrc.
func TestTransitionTable(t *testing.T) {
	cells := parseRFCTable(t)
	for e := range ppp.NumEvents {
		for s := range ppp.NumStates {
			ev, st := ppp.Event(e), ppp.State(s)
			want := cells[e][s]
			t.Run(fmt.Sprintf("%v/%v", st, ev), func(t *testing.T) {
				var log []string
				a := ppp.NewAutomaton(ppp.ProtoLCP, recorder{&log}, func(b []byte) {
					p, err := ppp.ParsePacket(b)
					if err != nil {
						t.Fatalf("sent malformed packet [% x]", b)
					}
					log = append(log, sentActions[p.Code])
				})
				restart := sentinel
				if ev == ppp.TOMinus {
					restart = 0
				}
				a.SetStateForTest(st, restart, outstandingID, slices.Clone(ourRequest))
				trigger(t, a, ev)

				if !want.legal {
					if a.State() != st || len(log) != 0 {
						t.Errorf("illegal event: got state %v, actions %v; want no change", a.State(), log)
					}
					return
				}
				if a.State() != want.next {
					t.Errorf("next state = %v, want %v", a.State(), want.next)
				}
				var wantObservable []string
				wantRestart := restart
				for _, act := range want.actions {
					switch act {
					case "irc":
						if slices.Contains(want.actions, "str") {
							wantRestart = ppp.DefaultMaxTerminate
						} else {
							wantRestart = ppp.DefaultMaxConfigure
						}
					case "zrc":
						wantRestart = 0
					default:
						wantObservable = append(wantObservable, act)
						if act == "scr" || act == "str" {
							wantRestart--
						}
					}
				}
				if !slices.Equal(log, wantObservable) {
					t.Errorf("actions = %v, want %v", log, wantObservable)
				}
				if got := a.RestartCounter(); got != wantRestart {
					t.Errorf("Restart counter = %d, want %d", got, wantRestart)
				}
				wantTimer := want.next >= ppp.Closing && want.next <= ppp.AckSent
				if a.TimerRunning() != wantTimer {
					t.Errorf("TimerRunning = %v, want %v", a.TimerRunning(), wantTimer)
				}
			})
		}
	}
}

// TestTransitionsTrace checks that Trace sees each handled event.
func TestTransitionsTrace(t *testing.T) {
	var got []string
	p := &ppptest.Peer{}
	a := ppp.NewAutomaton(ppp.ProtoIPCP, p, func([]byte) {})
	a.Trace = func(from ppp.State, ev ppp.Event, to ppp.State) {
		got = append(got, fmt.Sprintf("%v -%v-> %v", from, ev, to))
	}
	a.Open()
	a.Up()
	a.Close(nil)
	want := []string{
		"Initial -Open-> Starting",
		"Starting -Up-> Req-Sent",
		"Req-Sent -Close-> Closing",
	}
	if !slices.Equal(got, want) {
		t.Errorf("trace = %q, want %q", got, want)
	}
}
