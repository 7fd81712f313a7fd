package failover

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"integration-dr/drerr"
	"integration-dr/session"
)

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// agreement gives every level (ICN, GCN, TSCN, Ack) the same range.
func agreement(name string, p Protocol, lower, upper int64, rollover bool) Agreement {
	b := Bounds{Lower: lower, Upper: upper, Rollover: rollover}
	return Agreement{Name: name, Protocol: p, Bounds: map[Level]Bounds{ICN: b, GCN: b, TSCN: b, Ack: b}}
}

func x12(name string) Agreement { return agreement(name, X12, 1, X12Max, false) }

// pascal is content as PowerShell writes it.
func pascal(number string, changed time.Time) json.RawMessage {
	return json.RawMessage(`{"ControlNumber":"` + number + `","ControlNumberChangedTime":"` + FormatStamp(changed) +
		`","IsMessageProcessingFailed":false,"MessageType":0}`)
}

var minBump500 = Policy{MinBump: 500}

// only computes a plan of one input and fails the test on an error.
func only(t *testing.T, in Input, p Policy, a Agreement) Plan {
	t.Helper()
	plan, err := Compute([]Input{in}, p, []Agreement{a}, now)
	if err != nil {
		t.Fatalf("Compute: %v", err)
	}
	return plan
}

func onlyBump(t *testing.T, in Input, p Policy, a Agreement) Bump {
	t.Helper()
	plan := only(t, in, p, a)
	if len(plan.Bumps) != 1 || len(plan.Refused) != 0 {
		t.Fatalf("plan = %+v, want exactly one bump", plan)
	}
	return plan.Bumps[0]
}

func TestTheNewNumberKeepsTheStoredWidthAndZeroPadding(t *testing.T) {
	old := now.Add(-time.Hour)
	tests := []struct {
		name       string
		agreement  Agreement
		last       string
		target     json.RawMessage
		from, want string
	}{
		{"a nine-digit X12 number stays nine digits", x12("A"), "000000123", pascal("000000123", old), "000000123", "000000623"},
		{"a carry keeps the width", x12("A"), "000000999", pascal("000000999", old), "000000999", "000001499"},
		{"an unpadded number stays unpadded", x12("A"), "123", pascal("123", old), "123", "623"},
		{"an EDIFACT counter keeps its own width", agreement("A", EDIFACT, 1, EDIFACTMax, false), "00042", pascal("00042", old), "00042", "00542"},
		{"a JSON number stays a number", x12("A"), "123", json.RawMessage(`{"controlNumber":123}`), "123", "623"},
		{"a missing target session takes the width of the old side's number", x12("A"), "000000123", nil, "", "000000623"},
		{"the target's width wins over the old side's", x12("A"), "123", pascal("000000100", old), "000000100", "000000623"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := onlyBump(t, Input{Session: "A-Icn", Last: tt.last, Target: tt.target}, minBump500, tt.agreement)
			if b.From != tt.from || b.To != tt.want {
				t.Errorf("From, To = %q, %q; want %q, %q", b.From, b.To, tt.from, tt.want)
			}
			if got := session.ParseContent(b.NewContent).ControlNumber; got != tt.want {
				t.Errorf("content's ControlNumber = %q, want %q (%s)", got, tt.want, b.NewContent)
			}
			if b.Wrapped {
				t.Errorf("Wrapped, want a plain bump")
			}
		})
	}
}

func TestABumpIsWrittenOnlyWhenTheTargetIsBelowItsFloor(t *testing.T) {
	lastAt := now.Add(-time.Minute)
	tests := []struct {
		name     string
		target   json.RawMessage
		lastAt   time.Time
		wantBump bool
	}{
		{"a target mirroring the old side is bumped", pascal("000000123", lastAt), lastAt, true},
		{"a target just below its floor is bumped", pascal("000000622", now), lastAt, true},
		{"a target exactly at its floor is skipped", pascal("000000623", now), lastAt, false},
		{"a target above its floor, changed later, is skipped", pascal("000009000", now), lastAt, false},
		{"a target above its floor is skipped when the stamps are unknown", pascal("000009000", now), time.Time{}, false},
		{"a target with no number is bumped", json.RawMessage(`{"ControlNumber":"","MessageType":0}`), lastAt, true},
		{"a missing target session is bumped (created)", nil, lastAt, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := only(t, Input{Session: "A-Icn", Last: "000000123", LastChangedTime: tt.lastAt, Target: tt.target}, minBump500, x12("A"))
			if got := len(plan.Bumps) == 1; got != tt.wantBump {
				t.Fatalf("bumped = %v, want %v (%+v)", got, tt.wantBump, plan)
			}
			if tt.wantBump && (plan.Bumps[0].To != "000000623" || plan.Bumps[0].Floor != 623) {
				t.Errorf("To = %q, Floor = %d; want 000000623, 623", plan.Bumps[0].To, plan.Bumps[0].Floor)
			}
		})
	}
}

func TestATargetHoldingAnOlderStateIsMovedToTheFloorEvenWhenItsNumberIsHigher(t *testing.T) {
	// The old side rolled over from 999999950 to 1 and went on to 100; the target
	// still holds the number from before the rollover. Left alone it would roll over
	// too and resend 1..100.
	a := agreement("A", X12, 1, X12Max, true)
	in := Input{Session: "A-Icn", Last: "000000100", LastChangedTime: now.Add(-time.Minute), Target: pascal("999999950", now.Add(-time.Hour))}
	b := onlyBump(t, in, minBump500, a)
	if b.To != "000000600" || !b.Wrapped {
		t.Errorf("To = %q, Wrapped = %v; want 000000600, true", b.To, b.Wrapped)
	}
}

func TestTheMarginIsTheLargestOfMinBumpAndBlockPlusRateTimesLagAndSafety(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		rate   float64
		lag    time.Duration
		want   int64
	}{
		{"the minimum bump wins over a small block and rate", Policy{MinBump: 1000, BlockSize: 100, Safety: 20 * time.Second}, 1, 10 * time.Second, 1000},
		{"rate × (lag + safety) plus the block wins over the minimum", Policy{MinBump: 10, BlockSize: 100, Safety: 30 * time.Second}, 2.5, time.Minute, 325},
		{"the block alone wins when nothing is sent", Policy{MinBump: 100, BlockSize: 250}, 0, time.Hour, 250},
		{"a fraction of a number rounds up", Policy{}, 0.1, 5 * time.Second, 1},
		{"safety counts when the lag is zero", Policy{BlockSize: 5, Safety: 10 * time.Second}, 3, 0, 35},
		{"an enormous rate saturates", Policy{BlockSize: 5}, 1e300, time.Second, math.MaxInt64},
		{"an enormous lag saturates", Policy{Safety: math.MaxInt64}, 1e12, math.MaxInt64, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Margin(tt.policy, tt.rate, tt.lag)
			if err != nil || got != tt.want {
				t.Fatalf("Margin = %d, %v; want %d", got, err, tt.want)
			}
			if tt.want > 1_000_000 {
				return
			}
			b := onlyBump(t, Input{Session: "A-Icn", Last: "000001000", Rate: tt.rate, Lag: tt.lag, Target: pascal("000001000", now)}, tt.policy, x12("A"))
			if b.Margin != tt.want || b.Floor != 1000+tt.want {
				t.Errorf("Margin, Floor = %d, %d; want %d, %d", b.Margin, b.Floor, tt.want, 1000+tt.want)
			}
		})
	}
}

func TestRolloverOnWrapsToTheLowerBoundKeepingWidth(t *testing.T) {
	tests := []struct {
		name      string
		agreement Agreement
		last      string
		target    json.RawMessage
		wantTo    string
	}{
		// floor 999999800 + 500 = 1000000300, 300 past 999999999: Lower + 300.
		{"X12 wraps to one plus the overflow", agreement("A", X12, 1, X12Max, true), "999999800", pascal("999999800", now.Add(-time.Hour)), "000000301"},
		{"a lower bound above one is where the wrap starts", agreement("A", X12, 1000, X12Max, true), "999999800", pascal("999999800", now.Add(-time.Hour)), "000001300"},
		{"a floor one past the upper bound wraps to the lower bound itself", agreement("A", X12, 1, X12Max, true), "999999500", pascal("999999500", now.Add(-time.Hour)), "000000001"},
		{"a missing session wraps too", agreement("A", X12, 1, X12Max, true), "999999800", nil, "000000301"},
		{"EDIFACT wraps within its own range", agreement("A", EDIFACT, 0, 99999, true), "99800", pascal("99800", now.Add(-time.Hour)), "00300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := onlyBump(t, Input{Session: "A-Icn", Last: tt.last, Target: tt.target}, minBump500, tt.agreement)
			if b.To != tt.wantTo || !b.Wrapped {
				t.Errorf("To = %q, Wrapped = %v; want %q, true", b.To, b.Wrapped, tt.wantTo)
			}
		})
	}
}

func TestAWrapIsSkippedOnlyWhenTheTargetHasMovedOnInTheNewCycle(t *testing.T) {
	a := agreement("A", X12, 1, X12Max, true)
	lastAt := now.Add(-time.Minute)
	tests := []struct {
		name     string
		target   json.RawMessage
		wantBump bool
	}{
		{"already at the wrapped number", pascal("000000301", now), false},
		{"past it in the new cycle, changed after the old side", pascal("000005000", now), false},
		{"past it but older than the old side's number: trailing, bumped", pascal("000005000", now.Add(-time.Hour)), true},
		{"still in the old cycle", pascal("999999900", now), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := only(t, Input{Session: "A-Icn", Last: "999999800", LastChangedTime: lastAt, Target: tt.target}, minBump500, a)
			if got := len(plan.Bumps) == 1; got != tt.wantBump {
				t.Fatalf("bumped = %v, want %v (%+v)", got, tt.wantBump, plan)
			}
		})
	}
}

func TestAMarginThatLapsTheWholeRangeIsRefusedEvenWithRollover(t *testing.T) {
	plan := only(t, Input{Session: "A-Icn", Last: "000000900", Target: pascal("000000900", now)}, Policy{MinBump: 2000}, agreement("A", X12, 1, 1000, true))
	if len(plan.Refused) != 1 || len(plan.Bumps) != 0 || !strings.Contains(plan.Refused[0].Reason, "laps") {
		t.Fatalf("plan = %+v, want one refusal for lapping", plan)
	}
}

func TestRolloverOffRefusesNamingTheAgreementAndChangesNothingElse(t *testing.T) {
	agreements := []Agreement{x12("Contoso"), x12("Fabrikam"), agreement("Tight", X12, 1, 1000, false)}
	others := []Input{
		{Session: "Contoso-Icn", Last: "000000010", Target: pascal("000000010", now)},
		{Session: "Fabrikam-Gcn", Last: "000000020", Target: pascal("000000020", now)},
		{Session: "Tight-Gcn", Last: "000000020", Target: pascal("000000020", now)},
	}
	refused := Input{Session: "Tight-Icn", Last: "000000900", Target: pascal("000000900", now)}

	without, err := Compute(others, minBump500, agreements, now)
	if err != nil {
		t.Fatal(err)
	}
	with, err := Compute(append([]Input{refused}, others...), minBump500, agreements, now)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(with.Bumps, without.Bumps) {
		t.Errorf("the refusal changed the bumps:\n%+v\nwant\n%+v", with.Bumps, without.Bumps)
	}
	if len(with.Refused) != 1 {
		t.Fatalf("Refused = %+v, want one", with.Refused)
	}
	r := with.Refused[0]
	if r.Agreement != "Tight" || r.Level != ICN || r.Floor != 1400 || r.Upper != 1000 || r.Last != "000000900" {
		t.Errorf("refusal = %+v", r)
	}
	for _, want := range []string{`"Tight"`, "Icn", "last 000000900", "floor 1400", "upper bound 1000", "rollover is off"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q does not say %q", r.Reason, want)
		}
	}
	if err := with.Err(); !drerr.Is(err, drerr.Invalid) || !strings.Contains(err.Error(), "Tight") {
		t.Errorf("Err() = %v, want Invalid naming the agreement", err)
	}
	if without.Err() != nil {
		t.Errorf("a plan without refusals has Err() = %v", without.Err())
	}
}

func TestATargetAlreadyPastItsUpperBoundWithRolloverOffIsRefused(t *testing.T) {
	plan := only(t, Input{Session: "A-Icn", Last: "000000010", Target: pascal("000005000", now)}, minBump500, agreement("A", X12, 1, 1000, false))
	if len(plan.Refused) != 1 || !strings.Contains(plan.Refused[0].Reason, "000005000") {
		t.Fatalf("plan = %+v, want a refusal naming the target's number", plan)
	}
}

func TestATargetBelowItsLowerBoundIsBumpedToAtLeastTheLowerBound(t *testing.T) {
	// The old side's agreement counts from 1, the target's from 100000.
	a := agreement("A", X12, 100000, X12Max, false)
	b := onlyBump(t, Input{Session: "A-Icn", Last: "000000050", Target: pascal("000000050", now)}, minBump500, a)
	if b.To != "000100000" || b.Floor != 100000 {
		t.Errorf("To, Floor = %q, %d; want 000100000, 100000", b.To, b.Floor)
	}
}

func TestEDIFACTCountersUseInt64Bounds(t *testing.T) {
	big := agreement("E", EDIFACT, 1, EDIFACTMax, false)
	b := onlyBump(t, Input{Session: "E-Icn", Last: "99999999990000", Target: pascal("99999999990000", now)}, Policy{MinBump: 5000}, big)
	if b.To != "99999999995000" || b.Floor != 99999999995000 {
		t.Errorf("To = %q, Floor = %d", b.To, b.Floor)
	}
	plan := only(t, Input{Session: "E-Icn", Last: "99999999999000", Target: pascal("99999999999000", now)}, Policy{MinBump: 5000}, big)
	if len(plan.Refused) != 1 || plan.Refused[0].Floor != 100000000004000 {
		t.Errorf("past 14 digits: %+v, want a refusal with floor 100000000004000", plan)
	}
	// The same number is far past X12's nine digits: X12 bounds cannot say so.
	if _, err := Compute(nil, Policy{}, []Agreement{agreement("X", X12, 1, EDIFACTMax, false)}, now); err != nil {
		t.Errorf("unused agreements are not checked: %v", err)
	}
	_, err := Compute([]Input{{Session: "X-Icn", Last: "1"}}, Policy{}, []Agreement{agreement("X", X12, 1, X12Max+1, false)}, now)
	if !drerr.Is(err, drerr.Invalid) {
		t.Errorf("an X12 upper bound of ten digits: %v, want Invalid", err)
	}
}

func TestTheNewChangedTimeIsTheLaterOfNowAndTheOldTimePlusOneTick(t *testing.T) {
	tests := []struct {
		name   string
		old    string
		lastAt time.Time
		want   time.Time
	}{
		{"an old time in the past gives now", FormatStamp(now.Add(-time.Hour)), time.Time{}, now},
		{"an old time equal to now gives one tick later", FormatStamp(now), time.Time{}, now.Add(100 * time.Nanosecond)},
		{"an old time in the future gives one tick after it", "2027-01-01T00:00:00.1234567Z", time.Time{}, time.Date(2027, 1, 1, 0, 0, 0, 123456800, time.UTC)},
		{"Windows PowerShell's date form is read", `/Date(1795172400000)/`, time.Time{}, now.Add(time.Hour + 100)},
		{"the old side's own later time is passed too", FormatStamp(now.Add(-time.Hour)), now.Add(time.Second), now.Add(time.Second + 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := json.RawMessage(`{"ControlNumber":"000000001","ControlNumberChangedTime":"` + tt.old + `"}`)
			b := onlyBump(t, Input{Session: "A-Icn", Last: "000000001", LastChangedTime: tt.lastAt, Target: target}, minBump500, x12("A"))
			if !b.ChangedTime.Equal(tt.want) {
				t.Errorf("ChangedTime = %v, want %v", b.ChangedTime, tt.want)
			}
			if got := session.ParseContent(b.NewContent).ControlNumberChangedTime; !got.Equal(tt.want) {
				t.Errorf("content's time = %v, want %v (%s)", got, tt.want, b.NewContent)
			}
		})
	}
	if _, err := nextStamp(now, maxStamp, time.Time{}); err == nil {
		t.Errorf("a time at .NET's DateTime.MaxValue has no later time: want an error")
	}
}

func TestTheNewContentKeepsFieldCasingAndEveryOtherField(t *testing.T) {
	stamp := FormatStamp(now)
	tests := []struct {
		name   string
		target string
		proto  Protocol
		want   string
	}{
		{"PascalCase from PowerShell",
			`{"ControlNumber":"000000001","ControlNumberChangedTime":"2026-11-20T09:00:00Z","IsMessageProcessingFailed":false,"MessageType":0}`, X12,
			`{"ControlNumber":"000000501","ControlNumberChangedTime":"` + stamp + `","IsMessageProcessingFailed":false,"MessageType":0}`},
		{"camelCase with extra fields in their own order",
			`{"messageType":"X12", "controlNumber" : "1", "extra":{"b":[1, 2],"a":"<&>"},"controlNumberChangedTime":"2026-11-20T09:00:00Z"}`, X12,
			`{"messageType":"X12","controlNumber":"501","extra":{"b":[1, 2],"a":"<&>"},"controlNumberChangedTime":"` + stamp + `"}`},
		{"a missing time is added in the content's casing",
			`{"controlNumber":"1","isMessageProcessingFailed":false}`, X12,
			`{"controlNumber":"501","isMessageProcessingFailed":false,"controlNumberChangedTime":"` + stamp + `"}`},
		{"the number's own casing decides over other keys'",
			`{"extra":1,"ControlNumber":"1"}`, X12,
			`{"extra":1,"ControlNumber":"501","ControlNumberChangedTime":"` + stamp + `"}`},
		{"a missing number is added in the content's casing",
			`{"MessageType":1}`, EDIFACT,
			`{"MessageType":1,"ControlNumber":"501","ControlNumberChangedTime":"` + stamp + `"}`},
		{"a missing X12 session is created as PowerShell writes it", ``, X12,
			`{"ControlNumber":"501","ControlNumberChangedTime":"` + stamp + `","IsMessageProcessingFailed":false,"MessageType":0}`},
		{"a missing EDIFACT session says so", `null`, EDIFACT,
			`{"ControlNumber":"501","ControlNumberChangedTime":"` + stamp + `","IsMessageProcessingFailed":false,"MessageType":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agreement("A", tt.proto, 1, X12Max, false)
			b := onlyBump(t, Input{Session: "A-Icn", Last: "1", Target: json.RawMessage(tt.target)}, minBump500, a)
			if string(b.NewContent) != tt.want {
				t.Errorf("NewContent =\n%s\nwant\n%s", b.NewContent, tt.want)
			}
		})
	}
}

func TestParseGeneratedReadsSuffixesInAnyCase(t *testing.T) {
	tests := []struct {
		name      string
		agreement string
		level     Level
		ok        bool
	}{
		{"Contoso-Fabrikam-X12-Icn", "Contoso-Fabrikam-X12", ICN, true},
		{"Contoso-Fabrikam-X12-ICN", "Contoso-Fabrikam-X12", ICN, true},
		{"contoso-edifact-gcn", "contoso-edifact", GCN, true},
		{"A-TsCn", "A", TSCN, true},
		{"A-Icn-Ack", "A", ICNAck, true},
		{"A-GCN-ACK", "A", GCNAck, true},
		{"A-tscn-ack", "A", TSCNAck, true},
		{"A-Ack", "A", Ack, true},
		{"A-İcn", "A", ICN, true},       // strings.ToLower('İ') is 'i', as Classify sees it
		{"A-Ac\u212a", "A", Ack, true},  // the Kelvin sign lowers to 'k'
		{"-Icn-Ack", "-Icn", Ack, true}, // as Classify: "-Ack" leaves a non-empty name
		{"-Icn", "", 0, false},
		{"X12-ICN-Contoso-000000123", "", 0, false},
		{"Edifact-ICN-Contoso-Icn", "", 0, false}, // a received number's name, whatever its end
		{"Contoso-Icnx", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agr, lvl, ok := ParseGenerated(tt.name)
			if agr != tt.agreement || lvl != tt.level || ok != tt.ok {
				t.Errorf("ParseGenerated = %q, %v, %v; want %q, %v, %v", agr, lvl, ok, tt.agreement, tt.level, tt.ok)
			}
			if classified := session.Classify(tt.name, session.Content{}) == session.Generated; classified != ok {
				t.Errorf("Classify says generated = %v, ParseGenerated %v", classified, ok)
			}
		})
	}
}

func TestAcknowledgementLevelsUseTheAgreementsAcknowledgementRange(t *testing.T) {
	a := Agreement{Name: "A", Protocol: X12, Bounds: map[Level]Bounds{ICN: {1, X12Max, false}, Ack: {1, 1000, false}}}
	plan := only(t, Input{Session: "A-Icn-Ack", Last: "000000900", Target: pascal("000000900", now)}, minBump500, a)
	if len(plan.Refused) != 1 || plan.Refused[0].Upper != 1000 || plan.Refused[0].Level != ICNAck {
		t.Errorf("plan = %+v, want a refusal against the Ack range", plan)
	}
	if _, err := Compute([]Input{{Session: "A-Gcn", Last: "1"}}, minBump500, []Agreement{a}, now); !drerr.Is(err, drerr.Invalid) {
		t.Errorf("a level with no range of its own and no fallback: %v, want Invalid", err)
	}
}

func TestThePlanIsOrderedByAgreementAndLevelWhateverTheInputOrder(t *testing.T) {
	agreements := []Agreement{x12("beta"), x12("Alpha"), x12("gamma")}
	inputs := []Input{
		{Session: "gamma-Icn", Last: "1"}, {Session: "Alpha-Ack", Last: "1"}, {Session: "beta-Tscn", Last: "1"},
		{Session: "Alpha-Icn", Last: "1"}, {Session: "beta-Icn", Last: "1"}, {Session: "Alpha-Gcn", Last: "1"},
	}
	want := []string{"Alpha-Icn", "Alpha-Gcn", "Alpha-Ack", "beta-Icn", "beta-Tscn", "gamma-Icn"}
	first, err := Compute(inputs, minBump500, agreements, now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range first.Bumps {
		got = append(got, b.Session)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
	for i := range inputs { // every rotation of the inputs and of the agreements
		rot := append(append([]Input(nil), inputs[i:]...), inputs[:i]...)
		agr := append(append([]Agreement(nil), agreements[i%3:]...), agreements[:i%3]...)
		again, err := Compute(rot, minBump500, agr, now)
		if err != nil || !reflect.DeepEqual(again, first) {
			t.Fatalf("rotation %d gives a different plan (%v)", i, err)
		}
	}
}

func TestGarbageInputsGiveInvalidErrorsNamingTheSession(t *testing.T) {
	good := Input{Session: "A-Icn", Last: "000000123", Rate: 1, Lag: time.Second, Target: pascal("000000123", now)}
	with := func(f func(*Input)) []Input { in := good; f(&in); return []Input{in} }
	agreements := []Agreement{x12("A")}
	tests := []struct {
		name       string
		inputs     []Input
		policy     Policy
		agreements []Agreement
		now        time.Time
		mention    string
	}{
		{"a last number with a letter", with(func(i *Input) { i.Last = "12a" }), minBump500, agreements, now, "A-Icn"},
		{"an empty last number", with(func(i *Input) { i.Last = "" }), minBump500, agreements, now, "A-Icn"},
		{"a negative last number", with(func(i *Input) { i.Last = "-5" }), minBump500, agreements, now, "A-Icn"},
		{"a last number with spaces", with(func(i *Input) { i.Last = " 5" }), minBump500, agreements, now, "A-Icn"},
		{"a last number past int64", with(func(i *Input) { i.Last = "99999999999999999999" }), minBump500, agreements, now, "A-Icn"},
		{"a last number padded past 20 characters", with(func(i *Input) { i.Last = strings.Repeat("0", 21) + "1" }), minBump500, agreements, now, "A-Icn"},
		{"a negative rate", with(func(i *Input) { i.Rate = -1 }), minBump500, agreements, now, "A-Icn"},
		{"a NaN rate", with(func(i *Input) { i.Rate = math.NaN() }), minBump500, agreements, now, "A-Icn"},
		{"an infinite rate", with(func(i *Input) { i.Rate = math.Inf(1) }), minBump500, agreements, now, "A-Icn"},
		{"a negative lag", with(func(i *Input) { i.Lag = -time.Second }), minBump500, agreements, now, "A-Icn"},
		{"target content that is not JSON", with(func(i *Input) { i.Target = json.RawMessage(`{"ControlNumber":`) }), minBump500, agreements, now, "A-Icn"},
		{"target content that is an array", with(func(i *Input) { i.Target = json.RawMessage(`["ControlNumber"]`) }), minBump500, agreements, now, "A-Icn"},
		{"target content with trailing data", with(func(i *Input) { i.Target = json.RawMessage(`{} {}`) }), minBump500, agreements, now, "A-Icn"},
		{"a target number that is an object", with(func(i *Input) { i.Target = json.RawMessage(`{"ControlNumber":{"v":1}}`) }), minBump500, agreements, now, "A-Icn"},
		{"a target number that is not a number", with(func(i *Input) { i.Target = json.RawMessage(`{"ControlNumber":"abc"}`) }), minBump500, agreements, now, "A-Icn"},
		{"a target number in exponent form", with(func(i *Input) { i.Target = json.RawMessage(`{"ControlNumber":1e3}`) }), minBump500, agreements, now, "A-Icn"},
		{"two spellings of the number that disagree", with(func(i *Input) { i.Target = json.RawMessage(`{"ControlNumber":"1","controlNumber":"2"}`) }), minBump500, agreements, now, "A-Icn"},
		{"an unreadable target time", with(func(i *Input) {
			i.Target = json.RawMessage(`{"ControlNumber":"1","ControlNumberChangedTime":"yesterday"}`)
		}), minBump500, agreements, now, "A-Icn"},
		{"a name that is not a generated session", with(func(i *Input) { i.Session = "something-else" }), minBump500, agreements, now, "something-else"},
		{"a received number's session", with(func(i *Input) { i.Session = "X12-ICN-A-000000123" }), minBump500, agreements, now, "X12-ICN-A-000000123"},
		{"an agreement the target lacks", with(func(i *Input) { i.Session = "B-Icn" }), minBump500, agreements, now, "B-Icn"},
		{"an agreement listed twice", []Input{good}, minBump500, []Agreement{x12("A"), x12("a")}, now, "A-Icn"},
		{"bounds missing for the level", []Input{good}, minBump500, []Agreement{{Name: "A", Protocol: X12, Bounds: map[Level]Bounds{GCN: {1, 9, false}}}}, now, "A-Icn"},
		{"bounds upside down", []Input{good}, minBump500, []Agreement{agreement("A", X12, 10, 5, true)}, now, "A-Icn"},
		{"an X12 lower bound of zero", []Input{good}, minBump500, []Agreement{agreement("A", X12, 0, 5, true)}, now, "A-Icn"},
		{"an EDIFACT counter past 14 digits", []Input{good}, minBump500, []Agreement{agreement("A", EDIFACT, 1, EDIFACTMax+1, true)}, now, "A-Icn"},
		{"an AS2 agreement", []Input{good}, minBump500, []Agreement{agreement("A", AS2, 1, 5, true)}, now, "A-Icn"},
		{"an agreement with no protocol", []Input{good}, minBump500, []Agreement{agreement("A", ProtocolUnknown, 1, 5, true)}, now, "A-Icn"},
		{"the same session twice in different cases", []Input{good, {Session: "a-ICN", Last: "1"}}, minBump500, agreements, now, "A-Icn"},
		{"a negative minimum bump", []Input{good}, Policy{MinBump: -1}, agreements, now, "policy"},
		{"a negative block size", []Input{good}, Policy{BlockSize: -1}, agreements, now, "policy"},
		{"a negative safety", []Input{good}, Policy{Safety: -1}, agreements, now, "policy"},
		{"no time of planning", []Input{good}, minBump500, agreements, time.Time{}, "now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := Compute(tt.inputs, tt.policy, tt.agreements, tt.now)
			if !drerr.Is(err, drerr.Invalid) {
				t.Fatalf("err = %v (plan %+v), want Invalid", err, plan)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not name %q", err, tt.mention)
			}
			if plan.Bumps != nil || plan.Refused != nil {
				t.Errorf("an invalid input still gave a plan: %+v", plan)
			}
		})
	}
}
