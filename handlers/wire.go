// Package handlers speaks the Azure Functions custom-handler wire format: it decodes
// what the host POSTs, calls the domain, and encodes the reply. Nothing more.
package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Invocation is what the host POSTs for every non-forwarded function call.
type Invocation struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// Reply is what the handler answers. The host requires a JSON object, even on errors.
type Reply struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// DecodeInvocation parses the host's envelope.
func DecodeInvocation(body []byte) (Invocation, error) {
	var inv Invocation
	if err := json.Unmarshal(body, &inv); err != nil {
		return inv, fmt.Errorf("invocation is not a JSON object of the host's shape: %w", err)
	}
	return inv, nil
}

// Timer is a timer trigger's data. Times the host could not fill are zero.
type Timer struct {
	Schedule struct {
		AdjustForDST bool `json:"AdjustForDST"`
	} `json:"Schedule"`
	ScheduleStatus *struct {
		Last        HostTime `json:"Last"`
		Next        HostTime `json:"Next"`
		LastUpdated HostTime `json:"LastUpdated"`
	} `json:"ScheduleStatus"`
	IsPastDue bool `json:"IsPastDue"`
}

// DecodeTimer reads timer data; null or missing data is a zero Timer.
func DecodeTimer(raw json.RawMessage) (Timer, error) {
	var t Timer
	if len(bytes.TrimSpace(raw)) == 0 {
		return t, nil
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return Timer{}, fmt.Errorf("timer data: %w", err)
	}
	return t, nil
}

// HostTime is a time as the host writes it: RFC 3339, or .NET's round-trip format
// without a zone ("0001-01-01T00:00:00" for never), which is read as UTC.
type HostTime struct{ time.Time }

var hostTimeLayouts = [...]string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"}

func (t *HostTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	for _, l := range hostTimeLayouts {
		if v, err := time.Parse(l, s); err == nil {
			if v.Year() <= 1 {
				v = time.Time{} // .NET's DateTime.MinValue: never
			}
			t.Time = v.UTC()
			return nil
		}
	}
	return fmt.Errorf("time %q is in no format the host uses", s)
}

// DecodeMessageBody returns a Service Bus message body as bytes. Hosts pass a body as
// a JSON string (encoded once, or twice), a byte body as base64, and a JSON body
// sometimes as the object itself; all come back as the original bytes.
func DecodeMessageBody(raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errors.New("message body is missing")
	}
	if raw[0] != '"' {
		return raw, nil // an object, array or number passed through as JSON
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("message body: %w", err)
	}
	// Encoded twice: the string holds another JSON string.
	if t := strings.TrimSpace(s); strings.HasPrefix(t, `"`) {
		var inner string
		if json.Unmarshal([]byte(t), &inner) == nil {
			s = inner
		}
	}
	if json.Valid([]byte(s)) {
		return []byte(s), nil
	}
	// A byte body arrives base64-encoded.
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && utf8.Valid(b) {
		return b, nil
	}
	return []byte(s), nil
}

// Metadata reads trigger metadata, whose values the host JSON-encodes a second time
// ("DeliveryCount": "1", "MessageId": "\"abc\"").
type Metadata map[string]json.RawMessage

// String returns a metadata value as text, unwrapping any JSON string encoding.
func (m Metadata) String(key string) string {
	raw, ok := m.lookup(key)
	if !ok {
		return ""
	}
	var s string
	for range 2 {
		if json.Unmarshal(raw, &s) != nil {
			return strings.TrimSpace(string(raw))
		}
		raw = json.RawMessage(s)
		if !strings.HasPrefix(strings.TrimSpace(s), `"`) {
			break
		}
	}
	return s
}

// Int returns a metadata value as a whole number, if it is one.
func (m Metadata) Int(key string) (int64, bool) {
	n, err := strconv.ParseInt(m.String(key), 10, 64)
	return n, err == nil
}

// lookup finds a key case-insensitively: hosts differ in casing.
func (m Metadata) lookup(key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}
