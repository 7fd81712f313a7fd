package failover

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/session"
)

// FuzzCompute: no input panics; an error is always an Invalid *drerr.Error; every bump
// lands within its bounds, above its current number unless it wraps, carries the number
// and a time later than the target's in valid content; and the plan is reproducible.
func FuzzCompute(f *testing.F) {
	f.Add("A-Icn", "000000123", []byte(`{"ControlNumber":"000000100","ControlNumberChangedTime":"2026-11-20T09:00:00Z"}`), 1.5, int64(60_000), int64(500), int64(100), int64(1), int64(999999999), false, false, int64(0))
	f.Add("A-ICN-ack", "999999800", []byte(`{"controlNumber":999999000}`), 0.0, int64(0), int64(500), int64(0), int64(1), int64(999999999), true, false, int64(1795165200000))
	f.Add("A-Gcn", "00042", []byte(`null`), 1e9, int64(1), int64(0), int64(0), int64(0), int64(99999), true, true, int64(-1))
	f.Add("x12-icn-A-1", "1", []byte(`[`), -1.0, int64(-5), int64(-1), int64(-1), int64(10), int64(5), false, true, int64(0))
	f.Fuzz(func(t *testing.T, name, last string, content []byte, rate float64, lagMs, minBump, block, lower, upper int64, rollover, edifact bool, lastMs int64) {
		if _, _, ok := ParseGenerated(name); ok != (session.Classify(name, session.Content{}) == session.Generated) {
			t.Fatalf("ParseGenerated and Classify disagree on %q", name)
		}
		proto := X12
		if edifact {
			proto = EDIFACT
		}
		agr, _, ok := ParseGenerated(name)
		if !ok {
			agr = name
		}
		b := Bounds{Lower: lower, Upper: upper, Rollover: rollover}
		agreements := []Agreement{{Name: agr, Protocol: proto, Bounds: map[Level]Bounds{ICN: b, GCN: b, TSCN: b, Ack: b}}}
		var lastAt time.Time
		if lastMs > 0 {
			lastAt = time.UnixMilli(lastMs).UTC()
		}
		in := Input{Session: name, Last: last, LastChangedTime: lastAt, Rate: rate, Lag: time.Duration(lagMs) * time.Millisecond, Target: content}
		policy := Policy{MinBump: minBump, BlockSize: block, Safety: 30 * time.Second}

		plan, err := Compute([]Input{in}, policy, agreements, now)
		if err != nil {
			var e *drerr.Error
			if !errors.As(err, &e) || e.Code != drerr.Invalid {
				t.Fatalf("error %v is not an Invalid *drerr.Error", err)
			}
			return
		}
		again, err := Compute([]Input{in}, policy, agreements, now)
		if err != nil || !reflect.DeepEqual(plan, again) {
			t.Fatalf("Compute is not reproducible")
		}
		if len(plan.Bumps)+len(plan.Refused) > 1 {
			t.Fatalf("one input gave %+v", plan)
		}
		old := session.ParseContent(content).ControlNumberChangedTime
		for _, x := range plan.Bumps {
			to, err := strconv.ParseInt(x.To, 10, 64)
			if err != nil {
				t.Fatalf("To %q is not a number", x.To)
			}
			if to < lower || to > upper {
				t.Fatalf("To %d outside [%d, %d]", to, lower, upper)
			}
			if x.From != "" && !x.Wrapped {
				if from, err := strconv.ParseInt(x.From, 10, 64); err != nil || to <= from {
					t.Fatalf("To %q not above From %q, and not wrapped", x.To, x.From)
				}
			}
			if !x.Wrapped && x.Floor != to {
				t.Fatalf("an unwrapped bump to %d below or past its floor %d", to, x.Floor)
			}
			if !json.Valid(x.NewContent) {
				t.Fatalf("NewContent %q is not JSON", x.NewContent)
			}
			c := session.ParseContent(x.NewContent)
			if c.ControlNumber != x.To || !c.ControlNumberChangedTime.Equal(x.ChangedTime) {
				t.Fatalf("NewContent %s does not hold %s at %v", x.NewContent, x.To, x.ChangedTime)
			}
			if x.ChangedTime.Before(now) || !x.ChangedTime.After(old) || (!lastAt.IsZero() && !x.ChangedTime.After(lastAt)) {
				t.Fatalf("ChangedTime %v is not after now, %v and %v", x.ChangedTime, old, lastAt)
			}
		}
		for _, r := range plan.Refused {
			if r.Reason == "" || plan.Err() == nil {
				t.Fatalf("a refusal without a reason or error: %+v", r)
			}
		}
	})
}
