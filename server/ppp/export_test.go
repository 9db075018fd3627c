package ppp

// SetStateForTest puts a in state s as if it had got there: the Restart
// counter holds restart, the Restart timer runs if s has one, and our
// Configure-Request with Identifier id and options req is outstanding.
func (a *Automaton) SetStateForTest(s State, restart int, id uint8, req []byte) {
	a.state = s
	a.restart = restart
	a.timer = s.timerRunning()
	a.id = id
	a.reqID = id
	a.req = req
	a.answered = false
}

// RestartCounter returns the Restart counter.
func (a *Automaton) RestartCounter() int { return a.restart }
