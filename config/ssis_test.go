package config

import (
	"strings"
	"testing"
)

const (
	fgWEU  = "/subscriptions/s/resourceGroups/ssis-weu/providers/Microsoft.Sql/locations/westeurope/instanceFailoverGroups/fg-ssis"
	fgNEU  = "/subscriptions/s/resourceGroups/ssis-neu/providers/Microsoft.Sql/locations/northeurope/instanceFailoverGroups/fg-ssis"
	adfWEU = "/subscriptions/s/resourceGroups/ssis-weu/providers/Microsoft.DataFactory/factories/adf-weu"
	adfNEU = "/subscriptions/s/resourceGroups/ssis-neu/providers/Microsoft.DataFactory/factories/adf-neu"
)

func ssisSide(fg, adf, extra string) string {
	return `{"failoverGroup":"` + fg + `","dataFactory":"` + adf + `","integrationRuntime":"ir"` + extra + `}`
}

func ssisTopology(name, standby, primary, secondary string) string {
	return `{"ssisPairs":[{"name":"` + name + `","standbyIR":"` + standby + `","primary":` + primary + `,"secondary":` + secondary + `}]}`
}

func TestLoadReadsAnSSISPair(t *testing.T) {
	top := ssisTopology("contoso-ssis", "stopped",
		ssisSide(fgWEU, adfWEU, `,"sqlEndpoint":"mi-weu.public.abc.database.windows.net:3342","triggers":["nightly"],"triggerAnnotation":"dr","schedules":[12,"Nightly load"]`),
		ssisSide(fgNEU, adfNEU, ``))
	c, err := Load(env(map[string]string{EnvTopology: top}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Pairs) != 0 || len(c.SSISPairs) != 1 {
		t.Fatalf("pairs %d, SSIS pairs %d", len(c.Pairs), len(c.SSISPairs))
	}
	p := c.SSISPairs[0]
	if !p.ManagedInstance || p.StandbyIR != "stopped" || p.Primary.ScheduleIDs[0] != 12 || p.Primary.ScheduleNames[0] != "Nightly load" ||
		p.Primary.Triggers[0] != "nightly" || p.Primary.TriggerAnnotation != "dr" || p.Secondary.SQLEndpoint != "" {
		t.Fatalf("pair %+v", p)
	}
}

func TestLoadNamesTheBadSSISField(t *testing.T) {
	sqlFG := func(server string) string {
		return "/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/" + server + "/failoverGroups/fg-ssis"
	}
	ok2 := ssisSide(fgNEU, adfNEU, ``)
	tests := []struct {
		name, topology, want string
	}{
		{"a bad failover group", ssisTopology("a", "", ssisSide("/subscriptions/s/resourceGroups/g/providers/Microsoft.Sql/servers/x", adfWEU, ``), ok2), "ssisPairs[0].primary.failoverGroup"},
		{"groups of two kinds", ssisTopology("a", "", ssisSide(sqlFG("sql-weu"), adfWEU, ``), ok2), "not the same kind"},
		{"two different groups", ssisTopology("a", "", ssisSide(sqlFG("sql-weu"), adfWEU, ``), ssisSide(strings.Replace(sqlFG("sql-neu"), "fg-ssis", "other", 1), adfNEU, ``)), "both sides must name the same group"},
		{"the same server twice", ssisTopology("a", "", ssisSide(fgWEU, adfWEU, ``), ssisSide(fgWEU, adfNEU, ``)), "through its own server"},
		{"a bad factory", ssisTopology("a", "", ssisSide(fgWEU, "/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x", ``), ok2), "primary.dataFactory"},
		{"no runtime", ssisTopology("a", "", `{"failoverGroup":"`+fgWEU+`","dataFactory":"`+adfWEU+`"}`, ok2), "primary.integrationRuntime"},
		{"a bad policy", ssisTopology("a", "sometimes", ssisSide(fgWEU, adfWEU, ``), ok2), "standbyIR"},
		{"a missing side", `{"ssisPairs":[{"name":"a","primary":` + ssisSide(fgWEU, adfWEU, ``) + `}]}`, "ssisPairs[0].secondary: is required"},
		{"schedules on SQL Database", ssisTopology("a", "", ssisSide(sqlFG("sql-weu"), adfWEU, `,"sqlEndpoint":"sql-weu.database.windows.net","schedules":[1]`), ssisSide(sqlFG("sql-neu"), adfNEU, ``)), "has no SQL Agent"},
		{"schedules without an endpoint", ssisTopology("a", "", ssisSide(fgWEU, adfWEU, `,"schedules":[1]`), ok2), "primary.sqlEndpoint: is required"},
		{"a bad schedule", ssisTopology("a", "", ssisSide(fgWEU, adfWEU, `,"sqlEndpoint":"mi","schedules":[0]`), ok2), "schedules[0]"},
		{"a connection string as endpoint", ssisTopology("a", "", ssisSide(fgWEU, adfWEU, `,"sqlEndpoint":"Server=mi;Password=hunter2"`), ok2), "sqlEndpoint: is not a host name"},
		{"a name an integration-account pair has", `{"pairs":[{"name":"a","primary":"` + weu + `","secondary":"` + neu + `"}],"ssisPairs":[{"name":"A","primary":` + ssisSide(fgWEU, adfWEU, ``) + `,"secondary":` + ok2 + `}]}`, "ssisPairs[0].name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(map[string]string{EnvTopology: tc.topology}))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error echoes a password")
			}
		})
	}
}
