package session

import (
	"encoding/json"
	"testing"
)

// FuzzSessionContent: parsing, classifying and merging any content must not panic,
// and the merge rule must be consistent: a session is always Same as itself, and two
// contents with different times are never both newer than each other.
func FuzzSessionContent(f *testing.F) {
	f.Add("Contoso-X12-Icn", []byte(`{"ControlNumber":"10","ControlNumberChangedTime":"2026-11-20T09:00:00Z"}`), []byte(`{"controlNumber":11,"controlNumberChangedTime":"2026-11-20T09:00:01.1234567"}`))
	f.Add("X12-ICN-A-1", []byte(`{"MicValue":"x","MicChangedTime":"2026-11-20T09:00:00+01:00"}`), []byte(`null`))
	f.Add("as2", []byte(`{"ControlNumber":{"nested":true}}`), []byte(`[`))
	f.Fuzz(func(t *testing.T, name string, a, b []byte) {
		ca := ParseContent(a)
		_ = Classify(name, ca)
		sa, sb := Session{Name: name, Content: json.RawMessage(a)}, Session{Name: name, Content: json.RawMessage(b)}
		if v := Decide(sa, &sa); v != Same {
			t.Fatalf("a session compared with itself: %v", v)
		}
		ab, ba := Decide(sa, &sb), Decide(sb, &sa)
		if ab == StandbyNewer && ba == StandbyNewer {
			t.Fatalf("each side is newer than the other: %s / %s", a, b)
		}
		if EqualContent(a, b) != EqualContent(b, a) {
			t.Fatalf("EqualContent is not symmetric")
		}
	})
}
