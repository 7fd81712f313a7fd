package session

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMergeBack(t *testing.T) {
	const t1, t2 = "2026-11-20T09:00:00Z", "2026-11-20T09:00:05Z"
	now := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC) // a clock behind both stamps
	received := json.RawMessage(`{"ControlNumber":"7","ControlNumberChangedTime":"` + t1 + `","MessageType":0}`)
	mic := json.RawMessage(`{"AgreementName":"a","MicValue":"old","MicChangedTime":"` + t2 + `"}`)
	tests := []struct {
		name            string
		session         string
		old, active     json.RawMessage // active nil: the active side lacks it
		wantWrite       bool
		wantNumber      string // the active side's ControlNumber after the merge
		wantErr         bool
		wantStampAfter  []string
		wantSameContent bool
	}{
		{"a received number the active side lacks is copied", "X12-ICN-A-7", received, nil, true, "7", false, nil, true},
		{"a received number the active side holds is never overwritten", "X12-ICN-A-7", received, json.RawMessage(`{"ControlNumber":"7","ControlNumberChangedTime":"` + t2 + `"}`), false, "", false, nil, false},
		{"an AS2 MIC record the active side holds is never overwritten", "mic-1", mic, json.RawMessage(`{"AgreementName":"a","MicValue":"new","MicChangedTime":"` + t1 + `"}`), false, "", false, nil, false},
		{"an unknown session the active side lacks is copied", "whatever", json.RawMessage(`{"x":1}`), nil, true, "", false, nil, true},
		{"a generated number the active side lacks is copied", "A-X12-Icn", cn("1150", t1), nil, true, "1150", false, nil, true},
		{"a higher generated number on the old side raises the active's, keeping its padding", "A-X12-Icn", cn("1150", t1), cn("000000150", t2), true, "000001150", false, []string{t1, t2}, false},
		{"the higher number wins even with the older stamp", "A-X12-Icn", cn("1150", t1), cn("150", t2), true, "1150", false, []string{t1, t2}, false},
		{"a lower generated number on the old side never lowers the active's", "A-X12-Icn", cn("150", t2), cn("1150", t1), false, "", false, nil, false},
		{"an equal generated number changes nothing", "A-X12-Icn", cn("150", t2), cn("150", t1), false, "", false, nil, false},
		{"a JSON number stays a JSON number", "A-X12-Icn", cn("20", t1), json.RawMessage(`{"controlNumber":9,"controlNumberChangedTime":"` + t1 + `"}`), true, "20", false, []string{t1}, false},
		{"an unreadable active number is left alone and said", "A-X12-Icn", cn("20", t1), cn("abc", t1), false, "", true, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := Session{Name: tt.session, Content: tt.old}
			var active *Session
			if tt.active != nil {
				active = &Session{Name: tt.session, Content: tt.active}
			}
			got, write, err := MergeBack(old, active, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if write != tt.wantWrite {
				t.Fatalf("write = %v, want %v", write, tt.wantWrite)
			}
			if !write {
				return
			}
			if got.Name != tt.session {
				t.Errorf("writes session %q, want %q", got.Name, tt.session)
			}
			if tt.wantSameContent && !EqualContent(got.Content, tt.old) {
				t.Errorf("copied content %s, want %s", got.Content, tt.old)
			}
			c := ParseContent(got.Content)
			if tt.wantNumber != "" && c.ControlNumber != tt.wantNumber {
				t.Errorf("active number %q, want %q (content %s)", c.ControlNumber, tt.wantNumber, got.Content)
			}
			for _, s := range tt.wantStampAfter {
				if prev, _ := time.Parse(time.RFC3339, s); !c.ControlNumberChangedTime.After(prev) {
					t.Errorf("stamp %v is not after %v: the raised number would lose under newest-wins", c.ControlNumberChangedTime, prev)
				}
			}
			if tt.wantStampAfter != nil && !strings.Contains(string(got.Content), ".0000001Z") {
				t.Errorf("stamp in %s is not in .NET round-trip form one tick past the newest", got.Content)
			}
		})
	}
}

func TestRaiseControlNumberKeepsTheRestOfTheContent(t *testing.T) {
	in := json.RawMessage(`{"MessageType":1,"ControlNumber":"00042","IsMessageProcessingFailed":false,"ControlNumberChangedTime":"2026-11-20T09:00:00Z"}`)
	got, err := RaiseControlNumber(in, 123, time.Date(2026, 11, 20, 9, 0, 1, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"MessageType":1,"ControlNumber":"00123","IsMessageProcessingFailed":false,"ControlNumberChangedTime":"2026-11-20T09:00:01.0000000Z"}`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestMergeBackLeavesARolledOverNumberInItsNewCycle(t *testing.T) {
	const t1, t2 = "2026-11-20T09:00:00Z", "2026-11-20T09:00:05Z"
	now := time.Date(2026, 11, 20, 9, 1, 0, 0, time.UTC)
	active := &Session{Name: "A-Icn", Content: cn("000000015", t1)} // rolled over from 100 to 10, sent up to 15
	for _, tt := range []struct {
		old       string
		wantWrite bool
	}{
		{"100", false}, // the number it rolled over from
		{"102", false}, // sent past it in the cycle left, while the fence was pending
		{"18", true},   // below it: the old side rolled over too, and went further
		{"12", false},  // below the active's
	} {
		_, write, err := MergeBackAfterRollover(Session{Name: "A-Icn", Content: cn(tt.old, t2)}, active, now, 100)
		if err != nil || write != tt.wantWrite {
			t.Errorf("old side at %s: write %v (err %v), want %v", tt.old, write, err, tt.wantWrite)
		}
	}
}
