package ppp

import "fmt"

// State is a state of the option negotiation automaton, numbered as in
// the state transition table of RFC 1661 section 4.1.
//
// The transitions a successful negotiation and a clean close take
// (event/actions):
//
//	Initial ──Open/tls──► Starting ──Up/irc,scr──► Req-Sent ◄──────────────┐
//	                                                 │     │                 │ RCR-/scn, RCN/irc,scr,
//	                                     RCA/irc     │     │ RCR+/sca        │ TO+/scr
//	                                                 ▼     ▼                 │
//	                                          Ack-Rcvd     Ack-Sent ─────────┘
//	                                                 │     │
//	                                  RCR+/sca,tlu   │     │ RCA/irc,tlu
//	                                                 ▼     ▼
//	                                                  Opened
//	                                                 │     │
//	                          Close/tld,irc,str      │     │ RTR/tld,zrc,sta
//	                                                 ▼     ▼
//	                                           Closing     Stopping
//	                                                 │     │
//	                                  RTA, TO-/tlf   │     │ TO-/tlf
//	                                                 ▼     ▼
//	                                            Closed     Stopped
//
// Down from any state with the lower layer up leads back to Initial or
// Starting; the full table is in automaton.go and its test.
type State uint8

// The ten states of RFC 1661 section 4.2.
const (
	Initial  State = iota // lower layer down, no Open
	Starting              // Open, lower layer still down
	Closed                // lower layer up, no Open
	Stopped               // Open, waiting for Down or the peer after tlf or sta
	Closing               // Terminate-Request sent after Close
	Stopping              // Terminate-Request sent or received while open
	ReqSent               // Configure-Request sent
	AckRcvd               // our Configure-Request acknowledged
	AckSent               // the peer's Configure-Request acknowledged
	Opened                // both acknowledged: the layer is up
)

// NumStates is the number of states.
const NumStates = 10

var stateNames = [NumStates]string{
	"Initial", "Starting", "Closed", "Stopped", "Closing",
	"Stopping", "Req-Sent", "Ack-Rcvd", "Ack-Sent", "Opened",
}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// timerRunning reports whether the Restart timer runs in s (RFC 1661
// section 4.2: in Closing, Stopping, Req-Sent, Ack-Rcvd and Ack-Sent).
func (s State) timerRunning() bool { return s >= Closing && s <= AckSent }

// Event is an event of the automaton (RFC 1661 section 4.3).
type Event uint8

// The sixteen events of RFC 1661 section 4.3, in the order of the table.
const (
	Up       Event = iota // lower layer is Up
	Down                  // lower layer is Down
	Open                  // administrative Open
	Close                 // administrative Close
	TOPlus                // Timeout with counter > 0
	TOMinus               // Timeout with counter expired
	RCRPlus               // Receive-Configure-Request (Good)
	RCRMinus              // Receive-Configure-Request (Bad)
	RCA                   // Receive-Configure-Ack
	RCN                   // Receive-Configure-Nak/Rej
	RTR                   // Receive-Terminate-Request
	RTA                   // Receive-Terminate-Ack
	RUC                   // Receive-Unknown-Code
	RXJPlus               // Receive-Code-Reject (permitted) or Receive-Protocol-Reject
	RXJMinus              // Receive-Code-Reject (catastrophic) or Receive-Protocol-Reject
	RXR                   // Receive-Echo-Request, Receive-Echo-Reply or Receive-Discard-Request
)

// NumEvents is the number of events.
const NumEvents = 16

var eventNames = [NumEvents]string{
	"Up", "Down", "Open", "Close", "TO+", "TO-", "RCR+", "RCR-",
	"RCA", "RCN", "RTR", "RTA", "RUC", "RXJ+", "RXJ-", "RXR",
}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("Event(%d)", uint8(e))
}

// LayerEvent is one of the four this-layer actions of RFC 1661 section
// 4.4, as the session loop is told of them through Automaton.Notify.
type LayerEvent uint8

// The this-layer actions.
const (
	ThisLayerUp       LayerEvent = iota + 1 // tlu: the layer is open; start the next phase
	ThisLayerDown                           // tld: the layer is leaving Opened
	ThisLayerStarted                        // tls: the layer needs its lower layer
	ThisLayerFinished                       // tlf: the layer is done; Automaton.Err says why
)

func (e LayerEvent) String() string {
	switch e {
	case ThisLayerUp:
		return "This-Layer-Up"
	case ThisLayerDown:
		return "This-Layer-Down"
	case ThisLayerStarted:
		return "This-Layer-Started"
	case ThisLayerFinished:
		return "This-Layer-Finished"
	}
	return fmt.Sprintf("LayerEvent(%d)", uint8(e))
}
