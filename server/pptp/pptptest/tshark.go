package pptptest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Packet is one packet as tshark dissected it: every field it showed,
// by field name (pptp.call_id, gre.key.call_id, _ws.expert.message, ...),
// with the values in the order tshark printed them.
type Packet map[string][]string

// Get returns the first value of the field name, and whether tshark
// showed the field at all.
func (p Packet) Get(name string) (string, bool) {
	v, ok := p[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// Uint returns the first value of the field name as a number; tshark
// shows numbers in decimal or, for fields displayed in hex, as 0x...
func (p Packet) Uint(name string) (uint64, bool) {
	s, ok := p.Get(name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// Problems lists what tshark found wrong with the packet: a malformed
// packet (the dissector ran out of bytes or hit an exception), and every
// expert info of severity warning or error, such as a bad checksum or an
// incorrect magic cookie.
func (p Packet) Problems() []string {
	var out []string
	if v, ok := p["_ws.malformed"]; ok {
		out = append(out, "malformed: "+strings.Join(v, "; "))
	}
	msgs, sevs := p["_ws.expert.message"], p["_ws.expert.severity"]
	for i, m := range msgs {
		sev := ""
		if i < len(sevs) {
			sev = sevs[i]
		}
		n, err := strconv.ParseUint(sev, 0, 32)
		// Wireshark's PI_WARN is 0x00600000, PI_ERROR 0x00800000.
		if err != nil || n >= 0x00600000 {
			out = append(out, "expert ("+sev+"): "+m)
		}
	}
	return out
}

// Protocols returns the frame's protocol stack as tshark names it, for
// example "raw:ip:gre:ppp:lcp".
func (p Packet) Protocols() string {
	s, _ := p.Get("frame.protocols")
	return s
}

// TsharkPath returns the path of tshark. When tshark is missing it skips
// the test loudly, or, as root (as CI runs, where test/install-deps
// installs it), fails it.
func TsharkPath(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err == nil {
		return path
	}
	if os.Geteuid() == 0 {
		t.Fatal("tshark not installed; run test/install-deps (make test does) or apt-get install tshark")
	}
	msg := "tshark not installed (apt-get install tshark); Wireshark check of our bytes not run"
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
	return ""
}

// Tshark writes the capture to a file, runs tshark over it with
// checksum validation on, and returns the dissected packets, one per
// record. It keeps the capture file in the test's temporary directory
// and names it in the failure message, so a failing capture can be
// opened in Wireshark.
func Tshark(t testing.TB, capture []byte) []Packet {
	t.Helper()
	return tshark(t, capture, true)
}

// TsharkLive is Tshark for a live capture: it does not check TCP
// checksums, which a capture on the sending host shows unfinished (the
// kernel leaves them to the NIC: checksum offload). IP header checksums
// are still checked.
func TsharkLive(t testing.TB, capture []byte) []Packet {
	t.Helper()
	return tshark(t, capture, false)
}

func tshark(t testing.TB, capture []byte, tcpChecksums bool) []Packet {
	t.Helper()
	tshark := TsharkPath(t)
	file := filepath.Join(t.TempDir(), "capture.pcap")
	if err := os.WriteFile(file, capture, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tshark, "-n", "-r", file, "-T", "pdml",
		"-o", "ip.check_checksum:TRUE",
		"-o", "tcp.check_checksum:"+strings.ToUpper(strconv.FormatBool(tcpChecksums)),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// tshark wants a writable home for its profile and is quieter
	// without a display.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark -r %s: %v\n%s", file, err, stderr.String())
	}
	packets, err := parsePDML(out)
	if err != nil {
		t.Fatalf("tshark -r %s: reading its PDML: %v", file, err)
	}
	return packets
}

// pdml mirrors the parts of tshark's PDML output that Packet needs.
type pdml struct {
	Packets []struct {
		Protos []pdmlField `xml:"proto"`
	} `xml:"packet"`
}

type pdmlField struct {
	Name   string      `xml:"name,attr"`
	Show   string      `xml:"show,attr"`
	Fields []pdmlField `xml:"field"`
}

func parsePDML(b []byte) ([]Packet, error) {
	var doc pdml
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	out := make([]Packet, 0, len(doc.Packets))
	for _, pkt := range doc.Packets {
		p := Packet{}
		for _, proto := range pkt.Protos {
			flatten(p, proto)
		}
		out = append(out, p)
	}
	return out, nil
}

func flatten(p Packet, f pdmlField) {
	if f.Name != "" {
		p[f.Name] = append(p[f.Name], f.Show)
	}
	for _, c := range f.Fields {
		flatten(p, c)
	}
}
