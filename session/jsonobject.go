package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Member is one key of a JSON object, kept in the order and spelling of the source.
type Member struct {
	Key string
	Val json.RawMessage
}

// DecodeObject reads a JSON object into its members, in order; anything but one
// object is an error.
func DecodeObject(raw []byte) ([]Member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("content is not a JSON object")
	}
	var ms []Member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("content is not a JSON object: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("content is not a JSON object")
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("content is not a JSON object: %w", err)
		}
		ms = append(ms, Member{key, v})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("content is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the content's JSON object")
	}
	return ms, nil
}

// KeyCasing spells a PascalCase key in camelCase when camel is set.
func KeyCasing(pascal string, camel bool) string {
	if camel {
		return strings.ToLower(pascal[:1]) + pascal[1:]
	}
	return pascal
}

// Quote encodes a string as JSON without HTML escaping.
func Quote(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(buf.Bytes(), "\n")
}
