package failover

import (
	"reflect"
	"strings"
	"testing"
)

func TestCheckAgreementsReportsMissingAndMismatchedAgreements(t *testing.T) {
	old := []Agreement{{Name: "Contoso", Protocol: X12}, {Name: "Fabrikam", Protocol: EDIFACT}, {Name: "Northwind", Protocol: AS2}, {Name: "Dup", Protocol: X12}}
	tests := []struct {
		name       string
		target     []Agreement
		missing    []string
		mismatched []string
		reasons    []string
	}{
		{"a target with the same agreements, names in another case, is ready",
			[]Agreement{{Name: "contoso", Protocol: X12}, {Name: "FABRIKAM", Protocol: EDIFACT}, {Name: "Northwind", Protocol: AS2}, {Name: "Dup", Protocol: X12}, {Name: "Extra", Protocol: X12}},
			nil, nil, nil},
		{"a missing agreement is named",
			[]Agreement{{Name: "Contoso", Protocol: X12}, {Name: "Northwind", Protocol: AS2}, {Name: "Dup", Protocol: X12}},
			[]string{"Fabrikam"}, nil, []string{`agreement "Fabrikam" (EDIFACT) is missing on the target`}},
		{"a protocol mismatch and a duplicate are named",
			[]Agreement{{Name: "Contoso", Protocol: EDIFACT}, {Name: "Fabrikam", Protocol: EDIFACT}, {Name: "Northwind", Protocol: AS2}, {Name: "Dup", Protocol: X12}, {Name: "dup", Protocol: X12}},
			nil, []string{"Contoso", "Dup"}, []string{`agreement "Contoso" is X12 on the old side but EDIFACT on the target`, `agreement "Dup" is listed 2 times on the target`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := CheckAgreements(old, tt.target)
			if !reflect.DeepEqual(r.Missing, tt.missing) || !reflect.DeepEqual(r.Mismatched, tt.mismatched) || !reflect.DeepEqual(r.Reasons, tt.reasons) {
				t.Errorf("Readiness = %+v\nwant missing %v mismatched %v reasons %q", r, tt.missing, tt.mismatched, tt.reasons)
			}
			if r.Ready() != (tt.reasons == nil) {
				t.Errorf("Ready = %v with reasons %q", r.Ready(), r.Reasons)
			}
		})
	}
}

func TestCheckRoomIsNotReadyWhenANumberHasNoRoomWithinItsBounds(t *testing.T) {
	agreements := []Agreement{x12("Roomy"), agreement("Tight", X12, 1, 1000, false), agreement("Rolls", X12, 1, 1000, true)}
	inputs := []Input{
		{Session: "Roomy-Icn", Last: "000000900", Target: pascal("000000900", now)},
		{Session: "Rolls-Icn", Last: "000000900", Target: pascal("000000900", now)},
		{Session: "Tight-Icn", Last: "000000900", Target: pascal("000000900", now)},
	}
	r := CheckRoom(inputs, minBump500, agreements, now)
	if r.Ready() || !reflect.DeepEqual(r.NoRoom, []string{"Tight-Icn"}) || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "Tight") {
		t.Errorf("Readiness = %+v, want Tight-Icn without room", r)
	}
	if r := CheckRoom(inputs[:2], minBump500, agreements, now); !r.Ready() {
		t.Errorf("room everywhere, yet %+v", r)
	}
	if r := CheckRoom([]Input{{Session: "Gone-Icn", Last: "1"}}, minBump500, agreements, now); r.Ready() || !strings.Contains(r.Reasons[0], "Gone") {
		t.Errorf("an input Compute rejects: %+v", r)
	}
	all := CheckAgreements([]Agreement{{Name: "Missing", Protocol: X12}}, agreements).Merge(r)
	if all.Ready() || len(all.Reasons) != 2 || len(all.Missing) != 1 || len(all.NoRoom) != 1 {
		t.Errorf("Merge = %+v", all)
	}
}
