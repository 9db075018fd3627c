//go:build !unix

package store

import "errors"

type walIndex struct{}

type walStamp struct{}

func openWALIndex(string) (*walIndex, error) {
	return nil, errors.New("no shared memory map on this system")
}

func (w *walIndex) close() {}

func (w *walIndex) stamp() (walStamp, bool) { return walStamp{}, false }
