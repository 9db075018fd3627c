// Package dist holds the Debian packaging of Gatehouse and its tests; it
// has no Go code of its own. "make package" runs build-deb on the files in
// debian/; README.md describes the installed layout, the systemd unit's
// hardening and the decisions behind them.
//
// The tests (go test ./dist/) build the package with "make package" into
// a temporary folder, run lintian on it and systemd-analyze verify on its
// unit, install, remove and purge it in a throw-away root with the
// maintainer scripts running, check the installed configuration with the
// installed binary, and run "serve" under the unit's capability bounding
// set. Not as root they skip loudly; as root a missing tool fails them.
package dist
