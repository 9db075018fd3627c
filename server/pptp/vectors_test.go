package pptp_test

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-vpn/gatehouse/server/pptp"
)

// vectors maps each file of testdata/vectors to the message it holds.
var vectors = map[string]pptp.Message{
	"sccrq.txt": &pptp.StartControlConnectionRequest{
		ProtocolVersion:     0x0100,
		FramingCapabilities: pptp.FramingAsynchronous,
		BearerCapabilities:  pptp.BearerAnalog,
		MaximumChannels:     0,
		FirmwareRevision:    1,
		HostName:            "client.example",
		VendorString:        "cananian",
	},
	"sccrp.txt": &pptp.StartControlConnectionReply{
		ProtocolVersion:     0x0100,
		ResultCode:          pptp.StartSuccess,
		ErrorCode:           pptp.GeneralErrorNone,
		FramingCapabilities: pptp.FramingAsynchronous | pptp.FramingSynchronous,
		BearerCapabilities:  pptp.BearerDigital,
		MaximumChannels:     100,
		FirmwareRevision:    0x0102,
		HostName:            "gatehouse",
		VendorString:        "Gatehouse",
	},
	"stopccrq.txt": &pptp.StopControlConnectionRequest{Reason: pptp.StopLocalShutdown},
	"echorq.txt":   &pptp.EchoRequest{Identifier: 0xdeadbeef},
	"echorp.txt":   &pptp.EchoReply{Identifier: 0xdeadbeef, ResultCode: pptp.EchoOK},
	"ocrq.txt": &pptp.OutgoingCallRequest{
		CallID:               0x2f3a,
		CallSerialNumber:     1,
		MinimumBPS:           2400,
		MaximumBPS:           10_000_000,
		BearerType:           pptp.BearerAnalog | pptp.BearerDigital,
		FramingType:          pptp.FramingAsynchronous | pptp.FramingSynchronous,
		PacketRecvWindowSize: 64,
		PhoneNumberLength:    7,
		PhoneNumber:          "5551234",
	},
	"ocrp.txt": &pptp.OutgoingCallReply{
		CallID:               0x0100,
		PeerCallID:           0x2f3a,
		ResultCode:           pptp.OutgoingConnected,
		ConnectSpeed:         10_000_000,
		PacketRecvWindowSize: 64,
	},
	"cdn.txt": &pptp.CallDisconnectNotify{
		CallID:         0x0100,
		ResultCode:     pptp.DisconnectAdminShutdown,
		CallStatistics: "idle timeout",
	},
	"sli.txt": &pptp.SetLinkInfo{PeerCallID: 0x0100, SendACCM: 0xffffffff, ReceiveACCM: 0xffffffff},
}

func TestVectors(t *testing.T) {
	files, err := filepath.Glob("testdata/vectors/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(vectors) {
		t.Errorf("%d vector files, %d expected messages", len(files), len(vectors))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			want, ok := vectors[name]
			if !ok {
				t.Fatalf("no expected message for %s", name)
			}
			wire := readVector(t, file)
			if len(wire) != want.ControlMessageType().Length() {
				t.Fatalf("vector has %d octets, %v has %d", len(wire), want.ControlMessageType(), want.ControlMessageType().Length())
			}
			got, err := pptp.Parse(wire)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse =\n %+v\nwant\n %+v", got, want)
			}
			if enc := pptp.Append(nil, want); !bytes.Equal(enc, wire) {
				t.Errorf("Append =\n% x\nwant\n% x", enc, wire)
			}
		})
	}
}

// readVector decodes a vector file; see testdata/vectors/README.md.
func readVector(t *testing.T, file string) []byte {
	t.Helper()
	text, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for i, line := range strings.Split(string(text), "\n") {
		if j := strings.Index(line, "#"); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, `"`) {
			end := strings.LastIndex(line, `"/`)
			size, err := strconv.Atoi(line[end+2:])
			if end <= 0 || err != nil || end-1 > size {
				t.Fatalf("%s:%d: bad string field %q", file, i+1, line)
			}
			field := make([]byte, size)
			copy(field, line[1:end])
			out = append(out, field...)
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(line, " ", ""))
		if err != nil {
			t.Fatalf("%s:%d: %v", file, i+1, err)
		}
		out = append(out, b...)
	}
	return out
}
