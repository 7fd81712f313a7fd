package config

import (
	"reflect"
	"strings"
	"testing"

	"integration-dr/drift"
)

func TestLoadReadsEachPairsAllowList(t *testing.T) {
	top := `{"pairs":[{"name":"contoso-b2b","primary":"` + weu + `","secondary":"` + neu + `",
	  "drift":{"allow":[{"kind":"Schema","name":"local-*"},{"kind":"partner","name":"Fabrikam-Test"}]}}],
	 "ssisPairs":[{"name":"contoso-ssis","primary":` + ssisSide(fgWEU, adfWEU, ``) + `,"secondary":` + ssisSide(fgNEU, adfNEU, ``) + `,
	  "drift":{"allow":[{"kind":"trigger","name":"adhoc-export"}]}}]}`
	c, err := Load(env(map[string]string{EnvTopology: top}))
	if err != nil {
		t.Fatal(err)
	}
	want := []drift.Allow{{Kind: drift.Schema, Name: "local-*"}, {Kind: drift.Partner, Name: "Fabrikam-Test"}}
	if got := c.Pairs[0].Drift.Allow; !reflect.DeepEqual(got, want) {
		t.Errorf("integration-account pair's allow-list %+v, want %+v", got, want)
	}
	if got := c.SSISPairs[0].Drift.Allow; !reflect.DeepEqual(got, []drift.Allow{{Kind: drift.Trigger, Name: "adhoc-export"}}) {
		t.Errorf("SSIS pair's allow-list %+v", got)
	}
	c, err = Load(env(nil))
	if err != nil || c.Pairs[0].Drift.Allow != nil {
		t.Errorf("a pair without a drift block: %+v, %v; want no allow-list", c.Pairs[0].Drift, err)
	}
}

func TestLoadNamesTheBadAllowEntry(t *testing.T) {
	pair := func(allow string) string {
		return `{"pairs":[{"name":"a","primary":"` + weu + `","secondary":"` + neu + `","drift":{"allow":[` + allow + `]}}]}`
	}
	tests := []struct {
		name, topology string
		want           []string
	}{
		{"an unknown kind", pair(`{"kind":"maps","name":"x"}`), []string{"pairs[0].drift.allow[0]", `kind "maps" is not one of`}},
		{"no name", pair(`{"kind":"map","name":"x"},{"kind":"map"}`), []string{"pairs[0].drift.allow[1]", "name is empty"}},
		{"a bad pattern", pair(`{"kind":"map","name":"[x"}`), []string{"pairs[0].drift.allow[0]", "not a valid pattern"}},
		{"an unknown key", pair(`{"kind":"map","name":"x","why":"y"}`), []string{"unknown field"}},
		{"an SSIS pair's entry", `{"ssisPairs":[{"name":"s","primary":` + ssisSide(fgWEU, adfWEU, ``) + `,"secondary":` + ssisSide(fgNEU, adfNEU, ``) + `,"drift":{"allow":[{"kind":"pipelin","name":"x"}]}}]}`,
			[]string{"ssisPairs[0].drift.allow[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{EnvTopology: tt.topology}))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
