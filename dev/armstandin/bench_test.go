package armstandin

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// BenchmarkListPage measures one list page of a 50,000-session account: the cost a
// replication run pays per page while it walks a large primary.
func BenchmarkListPage(b *testing.B) {
	const n = 50_000
	st := newStore()
	content := json.RawMessage(`{"ControlNumber":"1","ControlNumberChangedTime":"2024-01-01T00:00:00Z"}`)
	// Insert in an order unrelated to name order, as agreements are created.
	for i := range n {
		st.put("g", "a", fmt.Sprintf("agreement-%05d-Icn", (i*7919)%n), content, time.Time{})
	}
	after := fmt.Sprintf("agreement-%05d-icn", n/2)
	b.ResetTimer()
	for b.Loop() {
		names, _, more := st.page("g", "a", time.Time{}, after, 200)
		if len(names) != 200 || !more {
			b.Fatalf("page of %d, more %v", len(names), more)
		}
	}
}
