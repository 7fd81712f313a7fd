package handlers

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecodeTimerInvocation(b *testing.B) {
	body := []byte(`{"Data":{"timer":{"Schedule":{"AdjustForDST":true},"ScheduleStatus":{"Last":"2026-11-21T10:00:00.0071234+00:00","Next":"2026-11-21T10:01:00+00:00","LastUpdated":"2026-11-21T10:00:00.0071234+00:00"},"IsPastDue":false}},"Metadata":{"sys":{"MethodName":"ReplicateSessions","UtcNow":"2026-11-21T10:01:00.0113322Z"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		inv, err := DecodeInvocation(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := DecodeTimer(inv.Data["timer"]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeMessageBody(b *testing.B) {
	once, _ := json.Marshal(`{"action":"failover","pair":"contoso-b2b","reason":"drill"}`)
	twice, _ := json.Marshal(string(once))
	for name, raw := range map[string]json.RawMessage{"encoded once": once, "encoded twice": twice} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeMessageBody(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
