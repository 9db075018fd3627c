// Package ippool hands out the IPv4 addresses of the PPTP tunnel pool
// (pptp.pool.first .. pptp.pool.last) to sessions.
//
// Addresses are handed out round-robin from just after the last one given,
// not lowest-first, so an address that was just released is the last to be
// reused: stale ARP entries, conntrack state and late packets of the
// previous session then do not reach the next user. A client may propose an
// address (IPCP IP-Address with a non-zero value); Request grants it when it
// is in the pool and free. The pool never hands out an excluded address
// (the gateway's own PPP address, for one).
//
// A Pool is safe for concurrent use.
package ippool

import (
	"fmt"
	"net/netip"
	"sync"
)

// MaxSize bounds a pool: 2^20 addresses (a /12) is far more sessions than a
// gateway serves and keeps the bitmap at 128 KiB.
const MaxSize = 1 << 20

// Pool is a range of IPv4 addresses, each free or in use.
type Pool struct {
	first uint32
	size  uint32

	mu   sync.Mutex
	used []uint64 // bitmap, 1 = in use or excluded
	excl map[uint32]bool
	next uint32 // offset to try first
	n    int    // addresses in use (not counting excluded ones)
	free int    // addresses free
}

// New returns a pool of first..last, both included, without the excluded
// addresses. Both ends must be IPv4 and first <= last.
func New(first, last netip.Addr, exclude ...netip.Addr) (*Pool, error) {
	if !first.Is4() || !last.Is4() {
		return nil, fmt.Errorf("ippool: %s-%s: the pool must be IPv4", first, last)
	}
	f, l := u32(first), u32(last)
	if f > l {
		return nil, fmt.Errorf("ippool: %s-%s: first is after last", first, last)
	}
	size := uint64(l) - uint64(f) + 1
	if size > MaxSize {
		return nil, fmt.Errorf("ippool: %s-%s: %d addresses, at most %d", first, last, size, MaxSize)
	}
	p := &Pool{first: f, size: uint32(size), used: make([]uint64, (size+63)/64), free: int(size), excl: map[uint32]bool{}}
	for _, a := range exclude {
		if i, ok := p.offset(a); ok && !p.isSet(i) {
			p.set(i)
			p.excl[i] = true
			p.free--
		}
	}
	return p, nil
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (p *Pool) addr(i uint32) netip.Addr {
	v := p.first + i
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (p *Pool) offset(a netip.Addr) (uint32, bool) {
	if !a.Is4() {
		return 0, false
	}
	v := u32(a)
	if v < p.first || v-p.first >= p.size {
		return 0, false
	}
	return v - p.first, true
}

func (p *Pool) isSet(i uint32) bool { return p.used[i/64]&(1<<(i%64)) != 0 }
func (p *Pool) set(i uint32)        { p.used[i/64] |= 1 << (i % 64) }
func (p *Pool) clear(i uint32)      { p.used[i/64] &^= 1 << (i % 64) }

// Allocate hands out a free address; ok is false when the pool is
// exhausted.
func (p *Pool) Allocate() (netip.Addr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free == 0 {
		return netip.Addr{}, false
	}
	for k := uint32(0); k < p.size; k++ {
		i := (p.next + k) % p.size
		if !p.isSet(i) {
			p.set(i)
			p.n++
			p.free--
			p.next = (i + 1) % p.size
			return p.addr(i), true
		}
	}
	return netip.Addr{}, false
}

// Request hands out a that the client proposed, if it is in the pool and
// free.
func (p *Pool) Request(a netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.offset(a)
	if !ok || p.isSet(i) {
		return false
	}
	p.set(i)
	p.n++
	p.free--
	return true
}

// Release returns a to the pool. Releasing an address that is not in use
// (or not in the pool, or excluded) is a programming error reported as an
// error, so a double release cannot free another session's address.
func (p *Pool) Release(a netip.Addr) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.offset(a)
	if !ok || !p.isSet(i) || p.excl[i] {
		return fmt.Errorf("ippool: release of %s, which is not in use", a)
	}
	p.clear(i)
	p.n--
	p.free++
	return nil
}

// Contains reports whether a is in the pool's range.
func (p *Pool) Contains(a netip.Addr) bool {
	_, ok := p.offset(a)
	return ok
}

// InUse returns how many addresses are handed out.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Free returns how many addresses can still be handed out.
func (p *Pool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.free
}

// Prefixes returns the fewest CIDR prefixes that hold exactly first..last
// (IPv4, first <= last): the routes that send the pool, and nothing
// around it, to the gateway. 10.0.0.100 .. 10.0.0.120 gives 10.0.0.100/30,
// 10.0.0.104/29, 10.0.0.112/29, 10.0.0.120/32.
func Prefixes(first, last netip.Addr) []netip.Prefix {
	lo, hi := uint64(u32(first)), uint64(u32(last))
	var out []netip.Prefix
	for lo <= hi {
		// The largest block that starts at lo (alignment) and ends by hi.
		size := uint64(1)
		for size < 1<<32 && lo%(size*2) == 0 && lo+size*2-1 <= hi {
			size *= 2
		}
		bits := 32
		for s := size; s > 1; s >>= 1 {
			bits--
		}
		a := netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
		out = append(out, netip.PrefixFrom(a, bits))
		lo += size
	}
	return out
}
