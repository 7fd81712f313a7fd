package handlers

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"
)

func TestDecodeTimerAcceptsEveryShapeTheHostSends(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		wantLast time.Time
		pastDue  bool
	}{
		{"times with a zone", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-21T10:00:00.0071234+00:00","Next":"2026-11-21T10:01:00+00:00","LastUpdated":"2026-11-21T10:00:00.0071234+00:00"},"IsPastDue":false}`,
			time.Date(2026, 11, 21, 10, 0, 0, 7123400, time.UTC), false},
		{"never-run Last without a zone", `{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"0001-01-01T00:00:00","Next":"2026-11-21T10:01:00","LastUpdated":"0001-01-01T00:00:00"},"IsPastDue":true}`,
			time.Time{}, true},
		{"a zoneless time is UTC", `{"ScheduleStatus":{"Last":"2026-11-21T10:00:00.5","Next":null,"LastUpdated":""}}`,
			time.Date(2026, 11, 21, 10, 0, 0, 500000000, time.UTC), false},
		{"null ScheduleStatus", `{"Schedule":{"AdjustForDST":false},"ScheduleStatus":null,"IsPastDue":false}`, time.Time{}, false},
		{"no timer data at all", ``, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timer, err := DecodeTimer(json.RawMessage(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			var last time.Time
			if timer.ScheduleStatus != nil {
				last = timer.ScheduleStatus.Last.Time
			}
			if !last.Equal(tt.wantLast) || timer.IsPastDue != tt.pastDue {
				t.Fatalf("Last %v pastDue %v, want %v %v", last, timer.IsPastDue, tt.wantLast, tt.pastDue)
			}
		})
	}
}

func TestDecodeTimerRefusesWhatIsNotATimer(t *testing.T) {
	for _, data := range []string{`[]`, `"x"`, `{"ScheduleStatus":{"Last":"yesterday"}}`, `{"IsPastDue":"maybe"}`} {
		if _, err := DecodeTimer(json.RawMessage(data)); err == nil {
			t.Errorf("DecodeTimer(%s) accepted it", data)
		}
	}
}

func TestDecodeMessageBodyRecoversTheSentBytes(t *testing.T) {
	const command = `{"action":"failover","pair":"contoso-b2b"}`
	once, _ := json.Marshal(command)
	twice, _ := json.Marshal(string(once))
	b64, _ := json.Marshal(base64.StdEncoding.EncodeToString([]byte(command)))
	tests := []struct{ name, raw, want string }{
		{"a JSON string encoded once", string(once), command},
		{"a JSON string encoded twice", string(twice), command},
		{"a byte body in base64", string(b64), command},
		{"the object itself", command, command},
		{"plain text", `"hello"`, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessageBody(json.RawMessage(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	for _, raw := range []string{``, `null`, `"unterminated`} {
		if _, err := DecodeMessageBody(json.RawMessage(raw)); err == nil {
			t.Errorf("DecodeMessageBody(%q) accepted it", raw)
		}
	}
}

func TestMetadataUnwrapsTheHostsEncoding(t *testing.T) {
	var m Metadata
	if err := json.Unmarshal([]byte(`{"DeliveryCount":"3","MessageId":"\"5f2c\"","sequenceNumber":"42","SessionId":"\"contoso-b2b\"","Raw":7,"UserProperties":{"source":"drctl"}}`), &m); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ key, want string }{
		{"DeliveryCount", "3"}, {"MessageId", "5f2c"}, {"SequenceNumber", "42"}, {"SessionId", "contoso-b2b"}, {"Raw", "7"}, {"Missing", ""},
	}
	for _, tt := range tests {
		if got := m.String(tt.key); got != tt.want {
			t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
		}
	}
	if n, ok := m.Int("DeliveryCount"); !ok || n != 3 {
		t.Errorf("DeliveryCount = %d, %v", n, ok)
	}
	if _, ok := m.Int("MessageId"); ok {
		t.Errorf("MessageId read as a number")
	}
}
