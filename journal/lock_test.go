package journal_test

import (
	"context"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
	"integration-dr/journal"
	"integration-dr/journal/journaltest"
)

// An attempt that died between journaling its operation's end and unlocking the pair
// leaves the lock behind; the pair's next operation (or one under way) takes it at
// once. A live holder, or one that is not an operation (a reconcile pass), keeps it.
func TestTakeLockFreesALockLeftByAnOperationThatEnded(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		holder journal.Status // "" : the holder is no operation
		want   drerr.Code     // "" : taken
	}{
		{"an operation rejected before it unlocked", journal.Rejected, ""},
		{"an operation that succeeded", journal.Succeeded, ""},
		{"an operation cancelled", journal.Cancelled, ""},
		{"an operation still waiting", journal.Waiting, drerr.Conflict},
		{"a reconcile pass", "", drerr.Conflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := journaltest.New()
			s.Now = func() time.Time { return now } // the lock's expiry is judged at now, not by the wall clock
			if tt.holder != "" {
				op := journal.New(command.Command{ID: "old", Action: command.Failover, Pair: "p"}, journal.Source{}, now, now)
				op.Status = tt.holder
				if _, err := s.Create(ctx, op); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := s.Lock(ctx, "p", "old", now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			_, err := journal.TakeLock(ctx, s, "p", "new", now.Add(2*time.Hour))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("the lock of an ended operation was not taken: %v", err)
			case tt.want != "" && !drerr.Is(err, tt.want):
				t.Fatalf("got %v, want %s", err, tt.want)
			}
		})
	}
}
