package interop

import (
	"bytes"
	"fmt"
	"sort"
)

// newcArchive encodes one directory and its files as a cpio archive in the
// "new ASCII" format, the one the kernel unpacks as an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst). Appended to
// the cached initramfs it gives each VM its settings: the kernel unpacks
// the archives one after the other into the same root.
//
// Layout of one entry: a 110-byte header ("070701" and thirteen 8-digit
// hexadecimal fields), the NUL-terminated name padded to a multiple of 4
// counted from the header's start, then the data padded to a multiple of 4.
// The archive ends with an entry named "TRAILER!!!".
func newcArchive(dir string, files map[string]string) []byte {
	var b bytes.Buffer
	ino := 1
	entry := func(name string, mode uint32, nlink int, data string) {
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		ino++
		b.WriteString(name)
		b.WriteByte(0)
		pad(&b)
		b.WriteString(data)
		pad(&b)
	}
	entry(dir, 0o040755, 2, "")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		// Mode 0600: the settings include the password.
		entry(dir+"/"+n, 0o100600, 1, files[n])
	}
	entry("TRAILER!!!", 0, 1, "")
	return b.Bytes()
}

// pad appends NUL bytes up to the next multiple of 4. Every entry starts
// at a multiple of 4, so the buffer's length is the offset that counts.
func pad(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}
