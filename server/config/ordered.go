package config

import (
	"iter"
	"reflect"
)

// Ordered is a mapping that remembers the order its keys were written in.
// Back-ends, services and firewall policies are Ordered because operators
// expect to see them listed in file order. The zero Ordered is empty and
// ready to use.
type Ordered[V any] struct {
	keys   []string
	values map[string]V
}

// Len is the number of entries.
func (o *Ordered[V]) Len() int { return len(o.keys) }

// Keys returns the keys in file order.
func (o *Ordered[V]) Keys() []string { return append([]string(nil), o.keys...) }

// Get returns the value for key.
func (o *Ordered[V]) Get(key string) (V, bool) {
	v, ok := o.values[key]
	return v, ok
}

// Has reports whether key is present.
func (o *Ordered[V]) Has(key string) bool {
	_, ok := o.values[key]
	return ok
}

// All yields the entries in file order.
func (o *Ordered[V]) All() iter.Seq2[string, V] {
	return func(yield func(string, V) bool) {
		for _, k := range o.keys {
			if !yield(k, o.values[k]) {
				return
			}
		}
	}
}

// Set adds or replaces key; a new key goes last.
func (o *Ordered[V]) Set(key string, v V) {
	if o.values == nil {
		o.values = make(map[string]V)
	}
	if _, ok := o.values[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.values[key] = v
}

// orderedMap is how the decoder fills an Ordered of any value type.
type orderedMap interface {
	elemType() reflect.Type
	reset()
	setValue(key string, v reflect.Value)
}

func (o *Ordered[V]) elemType() reflect.Type { return reflect.TypeFor[V]() }

func (o *Ordered[V]) reset() { *o = Ordered[V]{} }

func (o *Ordered[V]) setValue(key string, v reflect.Value) { o.Set(key, v.Interface().(V)) }

var orderedMapType = reflect.TypeFor[orderedMap]()
