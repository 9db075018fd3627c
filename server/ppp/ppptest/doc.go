// Package ppptest has test doubles for the PPP layer: a Link that carries
// control packets between two automata, losing some on request, and a
// scripted Peer handler (with LinkPeer for LCP) to play the client.
//
// Nothing here runs a goroutine or reads a clock: the Link delivers
// packets one by one, alternating directions, and, when none is in
// flight, fires the Restart timer that was armed first. Tests are
// therefore deterministic, and a failing one can print the Link's
// Transcript.
package ppptest
