package hostsim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunTimersFiresEachTimerOnItsScheduleOneAtATime: every timer function fires on
// its own schedule, a slow invocation is never overlapped by the next tick of the
// same function, and RunTimers returns once its context ends.
func TestRunTimersFiresEachTimerOnItsScheduleOneAtATime(t *testing.T) {
	var (
		mu       sync.Mutex
		calls    = map[string]int{}
		inFlight = map[string]*atomic.Int32{"/Fast": {}, "/Slow": {}}
		overlap  atomic.Bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight[r.URL.Path]
		if n.Add(1) > 1 {
			overlap.Store(true)
		}
		defer n.Add(-1)
		if r.URL.Path == "/Slow" {
			time.Sleep(1500 * time.Millisecond) // longer than its one-second period
		}
		mu.Lock()
		calls[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":[]}`))
	}))
	defer srv.Close()
	dir := writeApp(t, testHostJSON, map[string]string{
		"Fast": `{"bindings": [{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "*/1 * * * * *"}]}`,
		"Slow": `{"bindings": [{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "*/1 * * * * *"}]}`,
		"Off":  `{"disabled": true, "bindings": [{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "*/1 * * * * *"}]}`,
	})
	app, err := Load(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := New(app, srv.URL, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan Result, 64)
	ended := make(chan struct{})
	go func() {
		h.RunTimers(ctx, func(r Result) { results <- r })
		close(ended)
	}()
	seen := map[string]int{}
	for seen["Fast"] < 3 || seen["Slow"] < 2 {
		select {
		case r := <-results:
			if !r.Success {
				t.Fatalf("%s failed: %v", r.Function, r.Err)
			}
			seen[r.Function]++
		case <-time.After(30 * time.Second):
			t.Fatalf("timers did not fire: %v", seen)
		}
	}
	cancel()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("RunTimers did not return after its context ended")
	}
	if overlap.Load() {
		t.Error("two invocations of one timer function ran at once")
	}
	if seen["Off"] != 0 {
		t.Error("a disabled function fired")
	}
}
