package config

// Struct decoding: keys to fields, variants chosen by a discriminator key,
// required keys, and positions handed to Pos fields. See decode.go for the
// tags.

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// structInfo is what the decoder knows about a struct type.
type structInfo struct {
	fields   []fieldInfo // keys of the mapping
	variants []fieldInfo // inline pointers chosen by the discriminator
	posKeys  []fieldInfo // Pos fields filled from positions
	// discriminator is the key whose value chooses the variant ("type").
	discriminator string
}

type fieldInfo struct {
	key      string
	index    int
	required bool
	vt       valueTags
	when     string // variant: the discriminator value that selects it
	posKey   string // Pos field: "." or the key whose value position it gets
}

func (si *structInfo) field(key string) (fieldInfo, bool) {
	for _, f := range si.fields {
		if f.key == key {
			return f, true
		}
	}
	return fieldInfo{}, false
}

func (si *structInfo) keys() []string {
	out := make([]string, len(si.fields))
	for i, f := range si.fields {
		out[i] = f.key
	}
	return out
}

var structInfos sync.Map // reflect.Type -> *structInfo

func getStructInfo(t reflect.Type) *structInfo {
	if si, ok := structInfos.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if pk, ok := sf.Tag.Lookup("pos"); ok {
			if sf.Type != posType || tag != "-" {
				panic("config: pos tag on " + t.String() + "." + sf.Name + " needs type Pos and yaml:\"-\"")
			}
			si.posKeys = append(si.posKeys, fieldInfo{index: i, posKey: pk})
			continue
		}
		if tag == "-" {
			continue
		}
		f := fieldInfo{
			index:    i,
			required: sf.Tag.Get("required") == "true",
			vt:       valueTags{min: sf.Tag.Get("min"), max: sf.Tag.Get("max")},
		}
		if tag == ",inline" {
			key, val, ok := strings.Cut(sf.Tag.Get("when"), "=")
			if !ok || sf.Type.Kind() != reflect.Pointer || sf.Type.Elem().Kind() != reflect.Struct {
				panic("config: inline field " + t.String() + "." + sf.Name + " needs a when tag and a pointer to a struct")
			}
			if si.discriminator != "" && si.discriminator != key {
				panic("config: " + t.String() + " has two discriminators")
			}
			si.discriminator, f.when = key, val
			si.variants = append(si.variants, f)
			continue
		}
		if tag == "" || strings.Contains(tag, ",") {
			panic("config: field " + t.String() + "." + sf.Name + " needs a yaml tag")
		}
		f.key = tag
		si.fields = append(si.fields, f)
	}
	if si.discriminator != "" {
		f, ok := si.field(si.discriminator)
		if !ok || t.Field(f.index).Type.Kind() != reflect.String {
			panic("config: discriminator " + si.discriminator + " of " + t.String() + " must be a string field")
		}
	}
	v, _ := structInfos.LoadOrStore(t, si)
	return v.(*structInfo)
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		if path == "" {
			d.errorf(n, path, "expected a mapping of sections such as backends and services, got %s", describe(n))
			return
		}
		d.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	si := getStructInfo(v.Type())
	ps := d.pairs(n, path)

	// The discriminator goes first: it decides which keys are allowed.
	var variant *structInfo
	var variantValue reflect.Value
	if si.discriminator != "" {
		df, _ := si.field(si.discriminator)
		for _, p := range ps {
			if p.key == si.discriminator {
				d.keyPos[joinPath(path, p.key)] = nodePos(p.k)
				d.decodeField(p, v.Field(df.index), path, df)
			}
		}
		disc := v.Field(df.index).String()
		for _, vf := range si.variants {
			fv := v.Field(vf.index)
			if vf.when != disc {
				fv.SetZero()
				continue
			}
			if fv.IsNil() {
				fv.Set(newValue(fv.Type().Elem()))
			}
			variant, variantValue = getStructInfo(fv.Type().Elem()), fv.Elem()
		}
	}

	seen := make(map[string]bool)
	for _, p := range ps {
		seen[p.key] = true
		if p.key == si.discriminator {
			continue
		}
		child := joinPath(path, p.key)
		if f, ok := si.field(p.key); ok {
			d.keyPos[child] = nodePos(p.k)
			d.decodeField(p, v.Field(f.index), path, f)
			continue
		}
		if variant != nil {
			if f, ok := variant.field(p.key); ok {
				d.keyPos[child] = nodePos(p.k)
				d.decodeField(p, variantValue.Field(f.index), path, f)
				continue
			}
		}
		d.unknownKey(p, v, si, variant, path)
	}

	at, ok := d.keyPos[path]
	if !ok {
		at = nodePos(n)
	}
	for _, info := range []*structInfo{si, variant} {
		if info == nil {
			continue
		}
		for _, f := range info.fields {
			if f.required && !seen[f.key] {
				d.add(Error, at, path, fmt.Sprintf("missing required key %q", f.key))
			}
		}
	}
	d.setPositions(si, v, ps, at)
	if variant != nil {
		d.setPositions(variant, variantValue, ps, at)
	}
}

func (d *decoder) decodeField(p pair, fv reflect.Value, path string, f fieldInfo) {
	child := joinPath(path, p.key)
	if f.required {
		if vn := d.resolve(p.v); vn != nil && isNull(vn) && !isMapping(fv.Type()) {
			d.errorf(vn, child, "expected %s, got nothing", expected(fv.Type()))
			return
		}
	}
	d.decode(p.v, fv, child, f.vt)
}

func (d *decoder) setPositions(si *structInfo, v reflect.Value, ps []pair, self Pos) {
	for _, f := range si.posKeys {
		if f.posKey == "." {
			v.Field(f.index).Set(reflect.ValueOf(self))
			continue
		}
		for _, p := range ps {
			if p.key == f.posKey {
				if vn := d.resolve(p.v); vn != nil {
					v.Field(f.index).Set(reflect.ValueOf(d.contentPos(vn)))
				}
			}
		}
	}
}

func (d *decoder) unknownKey(p pair, v reflect.Value, si, variant *structInfo, path string) {
	if si.discriminator != "" {
		df, _ := si.field(si.discriminator)
		disc := v.Field(df.index).String()
		var owners []string
		for _, vf := range si.variants {
			if _, ok := getStructInfo(v.Field(vf.index).Type().Elem()).field(p.key); ok {
				owners = append(owners, vf.when)
			}
		}
		if len(owners) > 0 {
			if disc == "" || !knownVariant(v, si, disc) {
				return // the discriminator is missing or wrong: reported already
			}
			d.errorf(p.k, path, "key %q is for %s %s, not %s", p.key, si.discriminator, strings.Join(owners, " or "), disc)
			return
		}
	}
	keys := si.keys()
	if variant != nil {
		keys = append(keys, variant.keys()...)
	}
	if s := suggest(p.key, keys); s != "" {
		d.errorf(p.k, path, "unknown key %q; did you mean %q?", p.key, s)
		return
	}
	d.errorf(p.k, path, "unknown key %q (valid keys: %s)", p.key, strings.Join(keys, ", "))
}

// knownVariant reports whether disc is a valid value of the discriminator
// (valid types include those without options, such as local).
func knownVariant(v reflect.Value, si *structInfo, disc string) bool {
	df, _ := si.field(si.discriminator)
	c, ok := reflect.New(v.Field(df.index).Type()).Interface().(chooser)
	return ok && slices.Contains(c.choices(), disc)
}
