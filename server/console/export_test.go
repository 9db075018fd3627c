package console

// NewFakeBackend is the tests' fake Backend, for the examples in
// package console_test.
func NewFakeBackend() Backend { return newFake() }
