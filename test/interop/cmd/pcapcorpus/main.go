// Command pcapcorpus turns a capture of real PPTP sessions (the interop
// tests keep one with GATEHOUSE_INTEROP_CAPTURE=FILE: TestGatehouse in
// FILE, TestGatehouseMPPEOptional, with PAP, MS-CHAPv1 and CHAP-MD5
// logins, in FILE.optional) into seed corpora for
// the parsers' fuzz targets, so that fuzzing starts from what the Linux
// client really sends:
//
//	go run ./test/interop/cmd/pcapcorpus -pcap session.pcap -repo .
//
// It writes testdata/fuzz/<Target>/capture-<hash> files (the go test fuzz
// v1 format) for server/pptp FuzzParse, server/gre FuzzParse, server/ppp
// FuzzParseFrame and FuzzParsePacket, the option decoders of server/ppp/lcp,
// ipcp and ccp (FuzzParseOptions) and server/ppp/chap FuzzParseMessages
// and FuzzParseLegacyResponse.
// Identical inputs are written once. It reads classic pcap files with
// Ethernet (dumpcap -P) or raw IPv4 link types.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gatehouse-vpn/gatehouse/server/gre"
	"github.com/gatehouse-vpn/gatehouse/server/ppp"
)

func main() {
	pcap := flag.String("pcap", "", "capture file (classic pcap)")
	repo := flag.String("repo", ".", "repository root")
	flag.Parse()
	if err := run(*pcap, *repo); err != nil {
		fmt.Fprintln(os.Stderr, "pcapcorpus:", err)
		os.Exit(1)
	}
}

type corpus struct {
	repo    string
	written map[string]int
	seen    map[string]int // GRE packets of a kind taken so far
}

func (c *corpus) add(dir string, b []byte) error {
	sum := sha256.Sum256(b)
	d := filepath.Join(c.repo, dir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	name := filepath.Join(d, fmt.Sprintf("capture-%x", sum[:8]))
	if _, err := os.Stat(name); err == nil {
		return nil
	}
	c.written[dir]++
	return os.WriteFile(name, []byte("go test fuzz v1\n[]byte("+strconv.Quote(string(b))+")\n"), 0o644)
}

func run(file, repo string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	var hdr [24]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fmt.Errorf("pcap header: %w", err)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(hdr[:]) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	default:
		return errors.New("not a classic pcap file (write it with dumpcap -P)")
	}
	link := bo.Uint32(hdr[20:])
	c := &corpus{repo: repo, written: map[string]int{}, seen: map[string]int{}}
	for {
		var rec [16]byte
		if _, err := io.ReadFull(f, rec[:]); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		pkt := make([]byte, bo.Uint32(rec[8:]))
		if _, err := io.ReadFull(f, pkt); err != nil {
			return err
		}
		switch link {
		case 1: // Ethernet
			if len(pkt) < 14 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
				continue
			}
			pkt = pkt[14:]
		case 228: // raw IPv4
		default:
			return fmt.Errorf("link type %d: want Ethernet or raw IPv4", link)
		}
		if err := c.packet(pkt); err != nil {
			return err
		}
	}
	for dir, n := range c.written {
		fmt.Printf("%s: %d new\n", dir, n)
	}
	return nil
}

// packet adds the seeds of one IPv4 packet.
func (c *corpus) packet(ip []byte) error {
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return nil
	}
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total > len(ip) || ihl > total {
		return nil
	}
	body := ip[ihl:total]
	switch ip[9] {
	case 6: // TCP: PPTP control messages
		if len(body) < 20 {
			return nil
		}
		sport, dport := binary.BigEndian.Uint16(body), binary.BigEndian.Uint16(body[2:])
		payload := body[int(body[12]>>4)*4:]
		if (sport != 1723 && dport != 1723) || len(payload) == 0 {
			return nil
		}
		for len(payload) >= 2 {
			n := int(binary.BigEndian.Uint16(payload))
			if n < 2 || n > len(payload) {
				break
			}
			if err := c.add("server/pptp/testdata/fuzz/FuzzParse", payload[:n]); err != nil {
				return err
			}
			payload = payload[n:]
		}
	case 47: // GRE: PPP frames
		_, frame, err := gre.Parse(body)
		if err != nil {
			return c.add("server/gre/testdata/fuzz/FuzzParse", body)
		}
		if proto, _, err := ppp.ParseFrame(frame); err == nil && proto == ppp.ProtoCompressedDatagram || len(frame) == 0 {
			// Encrypted data and bare acknowledgments look alike to a
			// parser: a few of each are enough.
			kind := "data"
			if len(frame) == 0 {
				kind = "ack"
			}
			if c.seen[kind] >= 4 {
				return nil
			}
			c.seen[kind]++
		}
		if err := c.add("server/gre/testdata/fuzz/FuzzParse", body); err != nil {
			return err
		}
		if len(frame) == 0 {
			return nil
		}
		if err := c.add("server/ppp/testdata/fuzz/FuzzParseFrame", frame); err != nil {
			return err
		}
		proto, info, err := ppp.ParseFrame(frame)
		if err != nil {
			return nil
		}
		dirs := map[ppp.Protocol]string{
			ppp.ProtoLCP: "server/ppp/lcp", ppp.ProtoIPCP: "server/ppp/ipcp", ppp.ProtoCCP: "server/ppp/ccp",
		}
		if proto == ppp.ProtoCHAP {
			if err := c.add("server/ppp/chap/testdata/fuzz/FuzzParseLegacyResponse", info); err != nil {
				return err
			}
			return c.add("server/ppp/chap/testdata/fuzz/FuzzParseMessages", info)
		}
		dir, ok := dirs[proto]
		if !ok {
			return nil
		}
		if err := c.add("server/ppp/testdata/fuzz/FuzzParsePacket", info); err != nil {
			return err
		}
		p, err := ppp.ParsePacket(info)
		if err != nil || p.Code > ppp.ConfigureReject {
			return nil
		}
		return c.add(dir+"/testdata/fuzz/FuzzParseOptions", p.Data)
	}
	return nil
}
