package failover_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"integration-dr/failover"
)

func checks(rep failover.Report) map[string]failover.Check {
	out := map[string]failover.Check{}
	for _, c := range rep.Checks {
		out[c.Name] = c
	}
	return out
}

func TestReadinessReportsEveryCheck(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *fixture)
		failed string // the check that fails, "" for ready
		why    string
	}{
		{"ready", func(*fixture) {}, "", ""},
		{"the target does not answer", func(f *fixture) { f.secondary.down = true }, failover.CheckNameReachable, "does not answer"},
		{"an agreement only on the primary", func(f *fixture) {
			p := f.runner.Pairs["p"]
			a := p.Secondary.Agreements.(agreements)
			a.list = a.list[1:]
			p.Secondary.Agreements = a
			f.runner.Pairs["p"] = p
		}, failover.CheckNameAgreements, `"A00"`},
		{"duplicate checks off", func(f *fixture) {
			p := f.runner.Pairs["p"]
			a := p.Secondary.Agreements.(agreements)
			list := append([]failover.AgreementState(nil), a.list...)
			list[0].DuplicateChecks = false
			a.list = list
			p.Secondary.Agreements = a
			f.runner.Pairs["p"] = p
		}, failover.CheckNameDuplicates, "for duplicates"},
		{"replication lags", func(f *fixture) { f.shift = time.Hour }, failover.CheckNameLag, "more than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 3, failover.Bounds{Lower: 1, Upper: 999999999})
			tc.change(f)
			puts := f.secondary.acct.Puts
			rep, err := f.runner.Readiness(context.Background(), "p")
			if err != nil {
				t.Fatal(err)
			}
			got := checks(rep)
			if tc.failed == "" {
				if !rep.Ready() || len(rep.Checks) != 5 || len(rep.Bumps) == 0 {
					t.Fatalf("a ready pair: %+v", rep)
				}
			} else if c := got[tc.failed]; c.OK || !strings.Contains(c.Why, tc.why) || rep.Ready() {
				t.Fatalf("check %q = %+v, want failed saying %q; report %+v", tc.failed, c, tc.why, rep)
			}
			if f.secondary.acct.Puts != puts {
				t.Fatal("readiness wrote to the target")
			}
		})
	}
}

func TestReadinessFindsNoRoom(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 500})
	rep, err := f.runner.Readiness(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if c := checks(rep)[failover.CheckNameRoom]; c.OK || c.Why == "" {
		t.Fatalf("no room in a bound of 500 with rollover off: %+v", c)
	}
}

func TestTheTimerKeepsAReadinessReport(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	f.runner.ReadinessEvery = time.Hour
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	first, err := f.runner.LastReadiness(context.Background(), "p")
	if err != nil || !first.Ready() {
		t.Fatalf("kept report %+v, %v", first, err)
	}
	// Drift: an agreement added on the primary only. Within the hour nothing is rerun;
	// after it, the kept report says so.
	p := f.runner.Pairs["p"]
	a := p.Primary.Agreements.(agreements)
	extra := a.list[0]
	extra.Name = "A99"
	a.list = append(append([]failover.AgreementState(nil), a.list...), extra)
	p.Primary.Agreements = a
	f.runner.Pairs["p"] = p
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.runner.LastReadiness(context.Background(), "p"); !again.At.Equal(first.At) {
		t.Fatal("the report was made again within the hour")
	}
	f.shift = 61 * time.Minute
	if _, err := f.runner.Advance(context.Background()); err != nil {
		t.Fatal(err)
	}
	drift, _ := f.runner.LastReadiness(context.Background(), "p")
	if c := checks(drift)[failover.CheckNameAgreements]; c.OK || !strings.Contains(c.Why, "A99") {
		t.Fatalf("the drift does not show: %+v", drift)
	}
}

func TestReadinessBeforeTheFirstFullSyncSaysWhy(t *testing.T) {
	f := newFixture(t, 2, failover.Bounds{Lower: 1, Upper: 999999999})
	cp, _, _ := f.store.Load(context.Background(), "p")
	cp.Watermark = time.Time{}
	if _, err := f.store.Save(context.Background(), cp); err != nil {
		t.Fatal(err)
	}
	rep, err := f.runner.Readiness(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	got := checks(rep)
	if c := got[failover.CheckNameRoom]; c.OK || !strings.Contains(c.Why, "full sync") || strings.Contains(c.Why, "negative") {
		t.Fatalf("room before the first sync: %+v", c)
	}
	if c := got[failover.CheckNameLag]; c.OK || !strings.Contains(c.Why, "full sync") {
		t.Fatalf("lag before the first sync: %+v", c)
	}
}
