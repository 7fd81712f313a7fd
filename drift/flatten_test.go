package drift_test

import (
	"maps"
	"strings"
	"testing"

	"integration-dr/drift"
)

func TestFlattenGivesEachSettingAReadablePath(t *testing.T) {
	long := strings.Repeat("x", drift.LargeValue+1)
	tests := []struct {
		name string
		json string
		want map[string]string
	}{
		{name: "members join with dots", json: `{"a":{"b":1,"c":"x"},"d":true}`, want: map[string]string{"p.a.b": "1", "p.a.c": "x", "p.d": "true"}},
		{name: "arrays of named objects are keyed by name", json: `{"activities":[{"name":"Load","type":"ExecuteSSISPackage"},{"name":"Wait","type":"Wait"}]}`,
			want: map[string]string{"p.activities[Load].name": "Load", "p.activities[Load].type": "ExecuteSSISPackage", "p.activities[Wait].name": "Wait", "p.activities[Wait].type": "Wait"}},
		{name: "arrays without distinct names are keyed by index", json: `{"l":[{"name":"a"},{"name":"a"}],"s":[3,4]}`,
			want: map[string]string{"p.l[0].name": "a", "p.l[1].name": "a", "p.s[0]": "3", "p.s[1]": "4"}},
		{name: "nulls and empty containers are absent", json: `{"a":null,"b":{},"c":[]}`, want: map[string]string{}},
		{name: "large strings are given by digest", json: `{"script":"` + long + `"}`, want: map[string]string{"p.script": drift.Digest([]byte(long))}},
		{name: "numbers stay as written", json: `{"n":12345678901234567890,"f":1.50}`, want: map[string]string{"p.n": "12345678901234567890", "p.f": "1.50"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			if err := drift.FlattenJSON(got, "p", []byte(tt.json)); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	order := func(j string) map[string]string {
		m := map[string]string{}
		if err := drift.FlattenJSON(m, "", []byte(j)); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if a, b := order(`[{"name":"x","v":1},{"name":"y","v":2}]`), order(`[{"name":"y","v":2},{"name":"x","v":1}]`); !maps.Equal(a, b) {
		t.Errorf("reordering named elements changed the paths: %v vs %v", a, b)
	}
}
