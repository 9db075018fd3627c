package mppe

import "unsafe"

// grow returns dst extended by n octets, and those n octets. It reuses
// dst's spare capacity when there is enough, as append does, and
// allocates otherwise.
func grow(dst []byte, n int) (out, tail []byte) {
	if total := len(dst) + n; cap(dst) >= total {
		out = dst[:total]
	} else {
		out = make([]byte, total)
		copy(out, dst)
	}
	return out, out[len(dst):]
}

// clobbers reports whether a front-to-back pass that writes region
// (starting with the octets before data, then data[k] right after
// reading in[k]) would overwrite octets of in before reading them: region
// and in share memory and data starts after in. Encrypt and Decrypt panic
// in that case, as crypto/cipher does on an invalid buffer overlap; data
// starting at or before in (in place, or shifted towards the front) is
// fine.
func clobbers(region, data, in []byte) bool {
	if len(region) == 0 || len(in) == 0 {
		return false
	}
	r0 := uintptr(unsafe.Pointer(unsafe.SliceData(region)))
	i0 := uintptr(unsafe.Pointer(unsafe.SliceData(in)))
	if r0+uintptr(len(region)) <= i0 || i0+uintptr(len(in)) <= r0 {
		return false // disjoint
	}
	return uintptr(unsafe.Pointer(unsafe.SliceData(data))) > i0
}
