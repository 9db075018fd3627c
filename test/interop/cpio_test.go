package interop

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// readNewc decodes an archive written by newcArchive, checking what the
// kernel's initramfs unpacker relies on: the magic, and that every header
// and every file's data start at a multiple of 4.
func readNewc(t *testing.T, b []byte) map[string]string {
	t.Helper()
	files := map[string]string{}
	off := 0
	for {
		if off%4 != 0 || off+110 > len(b) {
			t.Fatalf("header at %d of %d", off, len(b))
		}
		h := b[off : off+110]
		if string(h[:6]) != "070701" {
			t.Fatalf("magic %q at %d", h[:6], off)
		}
		field := func(i int) int {
			n, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		mode, size, namesize := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+namesize-1])
		data := off + 110 + namesize
		data += (4 - data%4) % 4
		if name == "TRAILER!!!" {
			return files
		}
		if mode&0o170000 == 0o100000 {
			files[name] = string(b[data : data+size])
		}
		off = data + size
		off += (4 - off%4) % 4
	}
}

func TestNewcArchive(t *testing.T) {
	in := map[string]string{
		"mode":     "client",
		"password": `a "quoted" pass\word`,
		"empty":    "",
		"x":        "1234", // data already a multiple of 4
	}
	b := newcArchive("harness", in)
	got := readNewc(t, b)
	if len(got) != len(in) {
		t.Fatalf("got %d files, want %d: %v", len(got), len(in), got)
	}
	for k, v := range in {
		if got["harness/"+k] != v {
			t.Errorf("harness/%s = %q, want %q", k, got["harness/"+k], v)
		}
	}

	// GNU cpio, when installed, agrees.
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Log("cpio not installed; cross-check skipped")
		return
	}
	cmd := exec.Command(cpio, "-i", "--list", "--verbose", "--quiet")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio --list: %v\n%s", err, out)
	}
	for _, want := range []string{"drwxr-xr-x", "-rw-------", "harness/password"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio --list shows no %q:\n%s", want, out)
		}
	}
}
