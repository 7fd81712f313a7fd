package drift

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// LargeValue is the length above which Flatten gives a string by its digest: a
// script, a query or an embedded document reads better as "it changed" than inline.
const LargeValue = 256

// FlattenJSON decodes raw and adds its settings to into under prefix, as Flatten does.
func FlattenJSON(into map[string]string, prefix string, raw []byte) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // 1 and 1.0 stay as written, large integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("flatten %s: %w", prefix, err)
	}
	Flatten(into, prefix, v)
	return nil
}

// Flatten adds the leaves of v, a decoded JSON value, to into by readable path:
// "a.b" for an object's member, "list[0]" for an array's element, and "list[name]"
// for an element of an array whose elements are all objects with distinct "name"s
// (activities, steps): an order that changes nothing is then no difference. Nulls,
// empty objects and empty arrays add nothing, so that a service writing [] where
// another leaves the member out does not read as drift. A string longer than
// LargeValue is given by its Digest.
func Flatten(into map[string]string, prefix string, v any) {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for k, e := range x {
			Flatten(into, join(k), e)
		}
	case []any:
		names, byName := elementNames(x)
		for i, e := range x {
			idx := strconv.Itoa(i)
			if byName {
				idx = names[i]
			}
			Flatten(into, prefix+"["+idx+"]", e)
		}
	case string:
		if len(x) > LargeValue {
			x = Digest([]byte(x))
		}
		into[prefix] = x
	case json.Number:
		into[prefix] = x.String()
	case bool:
		into[prefix] = strconv.FormatBool(x)
	case float64:
		into[prefix] = strconv.FormatFloat(x, 'g', -1, 64)
	default:
		into[prefix] = fmt.Sprint(x)
	}
}

// elementNames returns each element's "name" when every element is an object with a
// distinct, non-empty one.
func elementNames(xs []any) ([]string, bool) {
	names := make([]string, len(xs))
	seen := make(map[string]bool, len(xs))
	for i, e := range xs {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := m["name"].(string)
		if !ok || n == "" || seen[n] {
			return nil, false
		}
		names[i], seen[n] = n, true
	}
	return names, len(xs) > 0
}
