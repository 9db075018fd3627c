package proto

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	pluginv1 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v1"
	pluginv2 "github.com/gatehouse-vpn/gatehouse/proto/gatehouse/plugin/v2"
)

// TestV1IsWireSubsetOfV2 holds version 1's messages to be a wire-compatible
// subset of version 2's: every v1 message exists in v2 under the same
// name, with every field under the same number, kind, cardinality and
// type, and every v1 enum value exists in v2 with the same number. The
// host and the SDK rely on it: they speak v2's Go types everywhere and
// reach a version 1 peer by re-encoding the same bytes as v1 messages.
func TestV1IsWireSubsetOfV2(t *testing.T) {
	v1 := pluginv1.File_gatehouse_plugin_v1_plugin_proto
	v2 := pluginv2.File_gatehouse_plugin_v2_plugin_proto
	msgs1, msgs2 := v1.Messages(), v2.Messages()
	if msgs1.Len() == 0 {
		t.Fatal("v1 has no messages")
	}
	for i := 0; i < msgs1.Len(); i++ {
		m1 := msgs1.Get(i)
		m2 := msgs2.ByName(m1.Name())
		if m2 == nil {
			t.Errorf("v2 lacks message %s", m1.Name())
			continue
		}
		compareMessage(t, m1, m2)
	}
	for i := 0; i < v1.Enums().Len(); i++ {
		e1 := v1.Enums().Get(i)
		e2 := v2.Enums().ByName(e1.Name())
		if e2 == nil {
			t.Errorf("v2 lacks enum %s", e1.Name())
			continue
		}
		for j := 0; j < e1.Values().Len(); j++ {
			v := e1.Values().Get(j)
			if w := e2.Values().ByName(v.Name()); w == nil || w.Number() != v.Number() {
				t.Errorf("enum %s: v2 lacks %s = %d", e1.Name(), v.Name(), v.Number())
			}
		}
	}
}

func compareMessage(t *testing.T, m1, m2 protoreflect.MessageDescriptor) {
	t.Helper()
	for j := 0; j < m1.Fields().Len(); j++ {
		f1 := m1.Fields().Get(j)
		f2 := m2.Fields().ByNumber(f1.Number())
		switch {
		case f2 == nil:
			t.Errorf("%s: v2 lacks field %d (%s)", m1.Name(), f1.Number(), f1.Name())
		case f1.Kind() != f2.Kind() || f1.Cardinality() != f2.Cardinality() || f1.IsMap() != f2.IsMap() ||
			(f1.ContainingOneof() == nil) != (f2.ContainingOneof() == nil):
			t.Errorf("%s.%s: v1 %v %v, v2 %v %v", m1.Name(), f1.Name(), f1.Cardinality(), f1.Kind(), f2.Cardinality(), f2.Kind())
		case f1.Message() != nil && !f1.IsMap() && f1.Message().Name() != f2.Message().Name():
			t.Errorf("%s.%s: v1 carries %s, v2 %s", m1.Name(), f1.Name(), f1.Message().Name(), f2.Message().Name())
		case f1.Enum() != nil && f1.Enum().Name() != f2.Enum().Name():
			t.Errorf("%s.%s: v1 carries %s, v2 %s", m1.Name(), f1.Name(), f1.Enum().Name(), f2.Enum().Name())
		}
		if f1.IsMap() && f2 != nil && f2.IsMap() {
			compareMessage(t, f1.Message(), f2.Message())
		}
	}
}
