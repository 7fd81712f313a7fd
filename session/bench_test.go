package session

import (
	"encoding/json"
	"testing"
)

var (
	benchGenerated = json.RawMessage(`{"ControlNumber":"000004711","ControlNumberChangedTime":"2026-11-20T09:00:00.1234567Z","IsMessageProcessingFailed":false,"MessageType":"X12"}`)
	benchNewer     = json.RawMessage(`{"ControlNumber":"000004712","ControlNumberChangedTime":"2026-11-20T09:00:01.1234567Z","IsMessageProcessingFailed":false,"MessageType":"X12"}`)
	benchSpaced    = json.RawMessage(`{"MessageType":"X12", "IsMessageProcessingFailed":false, "ControlNumberChangedTime":"2026-11-20T09:00:00.1234567Z", "ControlNumber":"000004711"}`)
)

func BenchmarkParseContent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ParseContent(benchGenerated)
	}
}

func BenchmarkClassify(b *testing.B) {
	c := ParseContent(benchGenerated)
	b.ReportAllocs()
	for b.Loop() {
		Classify("Contoso-Fabrikam-X12-Icn", c)
		Classify("X12-ICN-Contoso-Fabrikam-000004711", c)
	}
}

func BenchmarkDecide(b *testing.B) {
	cases := []struct {
		name            string
		active, standby json.RawMessage
	}{
		{"identical bytes", benchGenerated, benchGenerated},
		{"same content, other spelling", benchGenerated, benchSpaced},
		{"newer number", benchNewer, benchGenerated},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, s := Session{Name: "A-X12-Icn", Content: c.active}, &Session{Name: "A-X12-Icn", Content: c.standby}
			b.ReportAllocs()
			for b.Loop() {
				Decide(a, s)
			}
		})
	}
}
