package hostsim

import (
	"context"
	"sync"
	"time"
)

// TimerStatus chooses the schedule status sent with a tick.
type TimerStatus struct {
	// Unmonitored sends "ScheduleStatus": null. The host also sends null, whatever is
	// asked here, when the function's useMonitor is false or its schedule fires more
	// than once a minute.
	Unmonitored bool
	// Last is the previous occurrence. Leave it zero for the first monitored run: the
	// host then sends DateTime.MinValue, "0001-01-01T00:00:00" with no zone.
	Last time.Time
	// Next defaults to the schedule's next occurrence after now.
	Next time.Time
	// LastUpdated defaults to Last.
	LastUpdated time.Time
	// IsPastDue says the tick is late (the app was down at the due time).
	IsPastDue bool
}

// Timer fires timer function fn at now: it posts the timer payload as the host does
// and, when the invocation succeeds, sends its Service Bus outputs. The error is
// non-nil only for misuse or when ctx ends; a failed invocation is Result.Err.
func (h *Host) Timer(ctx context.Context, fn string, now time.Time, status TimerStatus) (Result, error) {
	f, err := h.function(fn, TimerTrigger)
	if err != nil {
		return Result{}, err
	}
	var scheduleStatus any // nil: JSON null
	if !status.Unmonitored && f.schedule.monitored(f.UseMonitor, now) {
		next := status.Next
		if next.IsZero() {
			next = f.schedule.next(now)
		}
		last, updated := dotnetMinValue, dotnetMinValue
		if !status.Last.IsZero() {
			last = dotnetOffset(status.Last)
			updated = last
		}
		if !status.LastUpdated.IsZero() {
			updated = dotnetOffset(status.LastUpdated)
		}
		scheduleStatus = map[string]any{"Last": last, "Next": dotnetOffset(next), "LastUpdated": updated}
	}
	data := map[string]any{f.TriggerBinding: map[string]any{
		"Schedule":       map[string]any{"AdjustForDST": true},
		"ScheduleStatus": scheduleStatus,
		"IsPastDue":      status.IsPastDue,
	}}
	res, ctxErr := h.invoke(ctx, f, data, map[string]any{"sys": sysData(f.Name, now)})
	h.applyQueueOutputs(f, &res)
	return res, ctxErr
}

// applyQueueOutputs sends the Service Bus outputs of a successful invocation; an
// output the host could not bind fails the invocation instead.
func (h *Host) applyQueueOutputs(f *Function, res *Result) {
	if !res.Success {
		return
	}
	sends, err := queueSends(f, res)
	if err != nil {
		res.Success, res.Err = false, err
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sendAllLocked(sends)
}

// sendAllLocked enqueues output messages by queue name. h.mu held.
func (h *Host) sendAllLocked(sends map[string][]Message) {
	for name, msgs := range sends {
		q := h.queueLocked(name)
		for _, m := range msgs {
			h.enqueueLocked(q, m)
		}
	}
}

// RunTimers fires every enabled timer function on its own schedule, as the host does,
// until ctx ends: each function at its next occurrence, never two invocations of one
// function at once (the host's singleton lock), a late tick marked past due. done, if
// not nil, sees each invocation's result. It returns when ctx ends and no invocation
// is under way.
func (h *Host) RunTimers(ctx context.Context, done func(Result)) {
	var wg sync.WaitGroup
	for _, name := range h.app.Names() {
		f := h.app.Functions[name]
		if f.Trigger != TimerTrigger || f.Disabled || f.schedule == nil {
			continue
		}
		wg.Go(func() {
			last := time.Time{}
			for {
				now := h.opts.Now()
				due := f.schedule.next(now)
				if due.IsZero() {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(due.Sub(now)):
				}
				status := TimerStatus{Last: last, IsPastDue: h.opts.Now().Sub(due) > time.Second}
				res, err := h.Timer(ctx, f.Name, due, status)
				if err != nil {
					return // ctx ended
				}
				last = due
				if done != nil {
					done(res)
				}
			}
		})
	}
	wg.Wait()
}
