package ppp

// action is one action of RFC 1661 section 4.4.
type action uint8

const (
	tlu action = iota + 1 // This-Layer-Up
	tld                   // This-Layer-Down
	tls                   // This-Layer-Started
	tlf                   // This-Layer-Finished
	irc                   // Initialize-Restart-Count
	zrc                   // Zero-Restart-Count
	scr                   // Send-Configure-Request
	sca                   // Send-Configure-Ack
	scn                   // Send-Configure-Nak/Rej
	str                   // Send-Terminate-Request
	sta                   // Send-Terminate-Ack
	scj                   // Send-Code-Reject
	ser                   // Send-Echo-Reply
)

var actionNames = [...]string{
	tlu: "tlu", tld: "tld", tls: "tls", tlf: "tlf", irc: "irc", zrc: "zrc", scr: "scr",
	sca: "sca", scn: "scn", str: "str", sta: "sta", scj: "scj", ser: "ser",
}

func (a action) String() string { return actionNames[a] }

// cell is one entry of the state transition table: the actions, in the
// order the table lists them, and the next state. A zero cell is the
// table's "-": an event that cannot occur in that state, which the
// automaton ignores.
type cell struct {
	acts  [3]action
	next  State
	legal bool
}

func tr(next State, acts ...action) cell {
	c := cell{next: next, legal: true}
	copy(c.acts[:], acts)
	return c
}

// transitions is the state transition table of RFC 1661 section 4.1,
// row by row (events) and column by column (states). The footnotes are
// not actions: [p] (passive option, TO- in Req-Sent, Ack-Rcvd, Ack-Sent)
// and [x] (crossed connection, RCA and RCN in Ack-Rcvd and Opened) need
// nothing beyond the table, and [r] (the restart option for Open in
// Stopped, Closing, Stopping and Opened) is not taken: Open there only
// moves to the state the table names.
var transitions = [NumEvents][NumStates]cell{
	Up: {
		Initial:  tr(Closed),
		Starting: tr(ReqSent, irc, scr),
	},
	Down: {
		Closed:   tr(Initial),
		Stopped:  tr(Starting, tls),
		Closing:  tr(Initial),
		Stopping: tr(Starting),
		ReqSent:  tr(Starting),
		AckRcvd:  tr(Starting),
		AckSent:  tr(Starting),
		Opened:   tr(Starting, tld),
	},
	Open: {
		Initial:  tr(Starting, tls),
		Starting: tr(Starting),
		Closed:   tr(ReqSent, irc, scr),
		Stopped:  tr(Stopped),
		Closing:  tr(Stopping),
		Stopping: tr(Stopping),
		ReqSent:  tr(ReqSent),
		AckRcvd:  tr(AckRcvd),
		AckSent:  tr(AckSent),
		Opened:   tr(Opened),
	},
	Close: {
		Initial:  tr(Initial),
		Starting: tr(Initial, tlf),
		Closed:   tr(Closed),
		Stopped:  tr(Closed),
		Closing:  tr(Closing),
		Stopping: tr(Closing),
		ReqSent:  tr(Closing, irc, str),
		AckRcvd:  tr(Closing, irc, str),
		AckSent:  tr(Closing, irc, str),
		Opened:   tr(Closing, tld, irc, str),
	},
	TOPlus: {
		Closing:  tr(Closing, str),
		Stopping: tr(Stopping, str),
		ReqSent:  tr(ReqSent, scr),
		AckRcvd:  tr(ReqSent, scr),
		AckSent:  tr(AckSent, scr),
	},
	TOMinus: {
		Closing:  tr(Closed, tlf),
		Stopping: tr(Stopped, tlf),
		ReqSent:  tr(Stopped, tlf),
		AckRcvd:  tr(Stopped, tlf),
		AckSent:  tr(Stopped, tlf),
	},
	RCRPlus: {
		Closed:   tr(Closed, sta),
		Stopped:  tr(AckSent, irc, scr, sca),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(AckSent, sca),
		AckRcvd:  tr(Opened, sca, tlu),
		AckSent:  tr(AckSent, sca),
		Opened:   tr(AckSent, tld, scr, sca),
	},
	RCRMinus: {
		Closed:   tr(Closed, sta),
		Stopped:  tr(ReqSent, irc, scr, scn),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(ReqSent, scn),
		AckRcvd:  tr(AckRcvd, scn),
		AckSent:  tr(ReqSent, scn),
		Opened:   tr(ReqSent, tld, scr, scn),
	},
	RCA: {
		Closed:   tr(Closed, sta),
		Stopped:  tr(Stopped, sta),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(AckRcvd, irc),
		AckRcvd:  tr(ReqSent, scr),
		AckSent:  tr(Opened, irc, tlu),
		Opened:   tr(ReqSent, tld, scr),
	},
	RCN: {
		Closed:   tr(Closed, sta),
		Stopped:  tr(Stopped, sta),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(ReqSent, irc, scr),
		AckRcvd:  tr(ReqSent, scr),
		AckSent:  tr(AckSent, irc, scr),
		Opened:   tr(ReqSent, tld, scr),
	},
	RTR: {
		Closed:   tr(Closed, sta),
		Stopped:  tr(Stopped, sta),
		Closing:  tr(Closing, sta),
		Stopping: tr(Stopping, sta),
		ReqSent:  tr(ReqSent, sta),
		AckRcvd:  tr(ReqSent, sta),
		AckSent:  tr(ReqSent, sta),
		Opened:   tr(Stopping, tld, zrc, sta),
	},
	RTA: {
		Closed:   tr(Closed),
		Stopped:  tr(Stopped),
		Closing:  tr(Closed, tlf),
		Stopping: tr(Stopped, tlf),
		ReqSent:  tr(ReqSent),
		AckRcvd:  tr(ReqSent),
		AckSent:  tr(AckSent),
		Opened:   tr(ReqSent, tld, scr),
	},
	RUC: {
		Closed:   tr(Closed, scj),
		Stopped:  tr(Stopped, scj),
		Closing:  tr(Closing, scj),
		Stopping: tr(Stopping, scj),
		ReqSent:  tr(ReqSent, scj),
		AckRcvd:  tr(AckRcvd, scj),
		AckSent:  tr(AckSent, scj),
		Opened:   tr(Opened, scj),
	},
	RXJPlus: {
		Closed:   tr(Closed),
		Stopped:  tr(Stopped),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(ReqSent),
		AckRcvd:  tr(ReqSent),
		AckSent:  tr(AckSent),
		Opened:   tr(Opened),
	},
	RXJMinus: {
		Closed:   tr(Closed, tlf),
		Stopped:  tr(Stopped, tlf),
		Closing:  tr(Closed, tlf),
		Stopping: tr(Stopped, tlf),
		ReqSent:  tr(Stopped, tlf),
		AckRcvd:  tr(Stopped, tlf),
		AckSent:  tr(Stopped, tlf),
		Opened:   tr(Stopping, tld, irc, str),
	},
	RXR: {
		Closed:   tr(Closed),
		Stopped:  tr(Stopped),
		Closing:  tr(Closing),
		Stopping: tr(Stopping),
		ReqSent:  tr(ReqSent),
		AckRcvd:  tr(AckRcvd),
		AckSent:  tr(AckSent),
		Opened:   tr(Opened, ser),
	},
}
