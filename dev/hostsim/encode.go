package hostsim

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// marshal encodes v as the host's serializer (Json.NET) does for our purposes: no HTML
// escaping (Go's default turns "<" into "\u003c", Json.NET does not) and no trailing
// newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// hostValue is a scalar as the host puts it into Data or Metadata. The host runs every
// value that is not an object through JsonConvert.SerializeObject and stores the
// resulting text as a JSON string, so a string s arrives as the JSON string whose
// content is the JSON encoding of s ("abc" arrives as "\"abc\""), and a number or a
// bool arrives as a string holding its digits ("DeliveryCount": "1").
func hostValue(v any) string {
	switch v := v.(type) {
	case string:
		b, _ := marshal(v)
		return string(b)
	case int:
		return fmt.Sprint(v)
	case int64:
		return fmt.Sprint(v)
	case bool:
		return fmt.Sprint(v)
	case time.Time:
		// Json.NET writes a UTC DateTime with a Z; SerializeObject quotes it.
		b, _ := marshal(dotnetUTC(v))
		return string(b)
	default:
		b, _ := marshal(v)
		return string(b)
	}
}

// dotnetUTC formats t as Json.NET writes a DateTime of kind Utc: up to seven
// fractional digits, trailing zeros dropped, "Z".
func dotnetUTC(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999Z")
}

// dotnetOffset formats t as Json.NET writes a DateTimeOffset, or a local DateTime on a
// UTC machine: "+00:00" instead of "Z".
func dotnetOffset(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.9999999-07:00")
}

// dotnetMinValue is DateTime.MinValue (kind Unspecified) as Json.NET writes it: no zone.
// The timer trigger sends it as Last on the first monitored run.
const dotnetMinValue = "0001-01-01T00:00:00"

// newGUID returns a random (version 4) GUID in the "D" format the host uses for
// invocation ids, lock tokens and sys.RandGuid.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newMessageID returns a GUID in the "N" format (32 hex digits), as the Service Bus
// client generates for a message whose id the sender did not set.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sysData is the host's "sys" metadata entry. It is an object, so it is not encoded
// a second time; its UtcNow is a UTC DateTime.
func sysData(function string, now time.Time) map[string]any {
	return map[string]any{
		"MethodName": function,
		"UtcNow":     dotnetUTC(now),
		"RandGuid":   newGUID(),
	}
}
