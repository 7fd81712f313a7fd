package session

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

func TestParseContentReadsBothCasings(t *testing.T) {
	want := time.Date(2026, 11, 20, 9, 0, 0, 123456700, time.UTC)
	for name, raw := range map[string]string{
		"PascalCase from PowerShell":   `{"ControlNumber":"000000123","ControlNumberChangedTime":"2026-11-20T09:00:00.1234567Z","MessageType":"X12"}`,
		"camelCase from the REST spec": `{"controlNumber":"000000123","controlNumberChangedTime":"2026-11-20T09:00:00.1234567+00:00","messageType":1}`,
		"time without a zone is UTC":   `{"controlNumber":123,"controlNumberChangedTime":"2026-11-20T09:00:00.1234567","MESSAGETYPE":"X12"}`,
	} {
		t.Run(name, func(t *testing.T) {
			c := ParseContent([]byte(raw))
			if c.ControlNumber != "000000123" && c.ControlNumber != "123" {
				t.Errorf("ControlNumber = %q", c.ControlNumber)
			}
			if !c.ControlNumberChangedTime.Equal(want) {
				t.Errorf("ControlNumberChangedTime = %v, want %v", c.ControlNumberChangedTime, want)
			}
			if c.MessageType == "" {
				t.Errorf("MessageType empty")
			}
		})
	}
}

func TestParseContentReadsWindowsPowerShellDates(t *testing.T) {
	want := time.Date(2026, 11, 20, 9, 0, 0, 123e6, time.UTC)
	for _, stamp := range []string{fmt.Sprintf(`\/Date(%d)\/`, want.UnixMilli()), fmt.Sprintf(`/Date(%d+0100)/`, want.UnixMilli())} {
		c := ParseContent([]byte(`{"ControlNumber":"7","ControlNumberChangedTime":"` + stamp + `"}`))
		if !c.ControlNumberChangedTime.Equal(want) {
			t.Errorf("%s read as %v, want %v", stamp, c.ControlNumberChangedTime, want)
		}
	}
}

func TestParseContentToleratesAnything(t *testing.T) {
	for _, raw := range []string{``, `null`, `[]`, `"x"`, `{"ControlNumber":{"a":1}}`, `{"ControlNumberChangedTime":"yesterday"}`, `{`} {
		c := ParseContent([]byte(raw))
		c.StampPresent = false // an unreadable stamp is still a stamp: Decide relies on it
		if c != (Content{}) {
			t.Errorf("ParseContent(%q) = %+v, want zero", raw, c)
		}
	}
}

func TestClassify(t *testing.T) {
	mic := `{"AgreementName":"a1","MicValue":"q2h3","MicHashAlgorithm":"SHA2256","MessageId":"<m1@x>"}`
	tests := []struct {
		name, content string
		want          Kind
	}{
		{"Contoso-Fabrikam-X12-Icn", `{}`, Generated},
		{"contoso-fabrikam-edifact-gcn", `{}`, Generated},
		{"Contoso-Fabrikam-X12-Tscn", `{}`, Generated},
		{"Contoso-Fabrikam-X12-Icn-ACK", `{}`, Generated},
		{"X12-ICN-Contoso-Fabrikam-X12-000000123", `{}`, Received},
		{"Edifact-ICN-Contoso-Fabrikam-EDI-42", `{}`, Received},
		{"as2-0f3a", mic, AS2MIC},
		{"-Icn", `{}`, Other},
		{"something-else", `{"foo":1}`, Other},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is "+tt.want.String(), func(t *testing.T) {
			if got := Classify(tt.name, ParseContent([]byte(tt.content))); got != tt.want {
				t.Errorf("Classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func cn(number, changed string) json.RawMessage {
	return json.RawMessage(`{"ControlNumber":"` + number + `","ControlNumberChangedTime":"` + changed + `","MessageType":"X12"}`)
}

// tc is a service changedTime, n seconds into the test's hour.
func tc(n int) time.Time { return time.Date(2026, 11, 20, 10, 0, n, 0, time.UTC) }

func TestDecide(t *testing.T) {
	const t1, t2 = "2026-11-20T09:00:00Z", "2026-11-20T09:00:05Z"
	tests := []struct {
		name    string
		active  json.RawMessage
		standby json.RawMessage // nil: missing
		want    Verdict
		// changedTime of each side; only consulted when content times cannot be compared.
		activeChanged, standbyChanged time.Time
	}{
		{"a session the standby lacks is written", cn("10", t1), nil, Write, time.Time{}, time.Time{}},
		{"a newer number is written", cn("11", t2), cn("10", t1), Write, time.Time{}, time.Time{}},
		{"the same content is not written again", cn("10", t1), cn("10", t1), Same, time.Time{}, time.Time{}},
		{"the same content spelled differently is not written", json.RawMessage(`{"MessageType":"X12", "ControlNumberChangedTime":"` + t1 + `","ControlNumber":"10"}`), cn("10", t1), Same, time.Time{}, time.Time{}},
		{"an older number never overwrites a newer one", cn("10", t1), cn("11", t2), StandbyNewer, time.Time{}, time.Time{}},
		{"a lower but newer number is a rollover and is written", cn("1", t2), cn("999999999", t1), Write, time.Time{}, time.Time{}},
		{"on equal times the active side wins", cn("12", t1), cn("11", t1), Write, time.Time{}, time.Time{}},
		{"the same number with a newer stamp on the active side is written", cn("10", t2), cn("10", t1), Write, time.Time{}, time.Time{}},
		{"the same number with an older stamp on the active side is left alone", cn("10", t1), cn("10", t2), StandbyNewer, time.Time{}, time.Time{}},
		{"a lower but newer number into a fenced standby is still written (newest stamp wins forward)", cn("5", t2), cn("1150", t1), Write, time.Time{}, time.Time{}},
		{"an AS2 MIC record with an older MIC time is left alone", json.RawMessage(`{"MicValue":"a","MicChangedTime":"` + t1 + `"}`), json.RawMessage(`{"MicValue":"b","MicChangedTime":"` + t2 + `"}`), StandbyNewer, time.Time{}, time.Time{}},
		{"unknown content that differs is written verbatim", json.RawMessage(`{"x":2}`), json.RawMessage(`{"x":1}`), Write, time.Time{}, time.Time{}},
		{"an unreadable standby stamp that changed later is not overwritten", cn("10", t1), cn("11", "20 Nov 2026 at nine"), StandbyNewer, tc(1), tc(2)},
		{"an unreadable standby stamp older than the active change is overwritten", cn("12", t1), cn("11", "20 Nov 2026 at nine"), Write, tc(3), tc(2)},
		{"an unreadable active stamp never overwrites a newer standby number", cn("9", "garbage"), cn("11", t2), StandbyNewer, tc(1), tc(2)},
		{"a stamp over content with none is written", cn("10", t1), json.RawMessage(`{"ControlNumber":"9"}`), Write, tc(1), tc(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb *Session
			if tt.standby != nil {
				sb = &Session{Name: "s", Content: tt.standby, ChangedTime: tt.standbyChanged}
			}
			if got := Decide(Session{Name: "s", Content: tt.active, ChangedTime: tt.activeChanged}, sb); got != tt.want {
				t.Errorf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}
