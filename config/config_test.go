package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"integration-dr/session"
)

const (
	weu = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.Logic/integrationAccounts/contoso-ia-weu"
	neu = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-northeurope/providers/Microsoft.Logic/integrationAccounts/contoso-ia-neu"
	// ruleID is an alert rule's resource ID, as DR_ALERT_RULES names rules.
	ruleID = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.Insights/metricAlerts/ia-down"
)

func env(overrides map[string]string) func(string) string {
	base := map[string]string{
		EnvPort:     "7071",
		EnvStorage:  "UseDevelopmentStorage=true",
		EnvTopology: `{"pairs":[{"name":"contoso-b2b","primary":"` + weu + `","secondary":"` + neu + `","kinds":["generated","received"],"overlap":"2m"}]}`,
	}
	for k, v := range overrides {
		base[k] = v
	}
	return func(k string) string { return base[k] }
}

func TestLoadReadsAValidConfiguration(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Pairs[0]
	if p.Name != "contoso-b2b" || p.Primary != weu || p.Secondary != neu || p.Overlap != 2*time.Minute || len(p.Kinds) != 2 || p.Kinds[0] != session.Generated {
		t.Fatalf("pair %+v", p)
	}
	if c.Budget.PerSecond != 9.5 || c.Budget.Burst != 200 || c.Budget.ReadsPerSecond != 23.75 || c.Budget.ReadBurst != 250 ||
		c.Engine.Lease != 2*time.Minute || c.Engine.ClockSkew != 5*time.Second || c.Engine.ReconcileEvery != 24*time.Hour || c.Azure.Credential != CredentialDefault {
		t.Fatalf("defaults %+v %+v %+v", c.Budget, c.Engine, c.Azure)
	}
}

func TestLoadNamesTheBadField(t *testing.T) {
	pair := func(fields string) string { return `{"pairs":[{` + fields + `}]}` }
	ok := `"primary":"` + weu + `","secondary":"` + neu + `"`
	tests := []struct {
		name      string
		overrides map[string]string
		want      string
	}{
		{"no port", map[string]string{EnvPort: ""}, EnvPort},
		{"a port that is not a number", map[string]string{EnvPort: "http"}, EnvPort},
		{"no storage", map[string]string{EnvStorage: ""}, EnvStorage},
		{"no topology", map[string]string{EnvTopology: ""}, EnvTopology},
		{"topology that is not JSON", map[string]string{EnvTopology: "{pairs"}, EnvTopology},
		{"an unknown topology field", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"primry":"x"`)}, "unknown field"},
		{"no pairs", map[string]string{EnvTopology: `{"pairs":[]}`}, "at least one pair"},
		{"a bad pair name", map[string]string{EnvTopology: pair(`"name":"a b",` + ok)}, "pairs[0].name"},
		{"a duplicate pair name", map[string]string{EnvTopology: `{"pairs":[{"name":"a",` + ok + `},{"name":"A",` + ok + `}]}`}, "pairs[1].name"},
		{"a primary that is not an integration account", map[string]string{EnvTopology: pair(`"name":"a","primary":"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x","secondary":"` + neu + `"`)}, "pairs[0].primary"},
		{"the same account on both sides", map[string]string{EnvTopology: pair(`"name":"a","primary":"` + weu + `","secondary":"` + weu + `"`)}, "pairs[0].secondary"},
		{"an unknown kind", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"kinds":["x12"]`)}, "pairs[0].kinds[0]"},
		{"an overlap over an hour", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"overlap":"2h"`)}, "pairs[0].overlap"},
		{"a zero write budget", map[string]string{EnvBudgetRate: "0"}, EnvBudgetRate},
		{"a lease that is not a duration", map[string]string{EnvLease: "forever"}, EnvLease},
		{"plain http to a remote ARM", map[string]string{EnvARMEndpoint: "http://management.example.com"}, EnvARMEndpoint},
		{"the static token against real ARM", map[string]string{EnvCredential: CredentialLocal}, EnvCredential},
		{"an unknown credential mode", map[string]string{EnvCredential: "password"}, EnvCredential},
		{"a bad table name", map[string]string{EnvTable: "dr-state"}, EnvTable},
		{"an overlap shorter than the clock skew", map[string]string{EnvClockSkew: "3m"}, "pairs[0].overlap"},
		{"a clock skew eating the lease", map[string]string{EnvClockSkew: "40s", EnvLease: "2m"}, EnvClockSkew},
		{"a zero read budget", map[string]string{EnvReadRate: "0"}, EnvReadRate},
		{"a workflow that is not a workflow", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"failover":{"primaryWorkflows":["/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/x"]}`)}, "pairs[0].failover.primaryWorkflows[0]"},
		{"a negative bump", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"failover":{"minBump":-1}`)}, "pairs[0].failover.minBump"},
		{"an unknown readiness policy", map[string]string{EnvTopology: pair(`"name":"a",` + ok + `,"failover":{"readiness":"maybe"}`)}, "pairs[0].failover.readiness"},
		{"a queue name with a space", map[string]string{EnvCommandQueue: "dr commands"}, EnvCommandQueue},
		{"a namespace given as a URL", map[string]string{EnvServiceBusNS: "sb://x.servicebus.windows.net/"}, EnvServiceBusNS},
		{"an alert rule for an unknown pair", map[string]string{EnvAlertRules: `{"rules":[{"ruleId":"` + ruleID + `","pair":"nope","action":"failover","mode":"auto"}]}`}, EnvAlertRules + ": rules[0].pair: is not a pair in DR_TOPOLOGY"},
		{"an alert rule named by its name alone", map[string]string{EnvAlertRules: `{"rules":[{"rule":"ia-down","pair":"contoso-b2b","action":"failover"}]}`}, EnvAlertRules + `: rules[0].rule: a rule's name alone is no longer accepted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.overrides))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestLoadReadsFailoverSettingsAndAlertRules(t *testing.T) {
	wf := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/workflows/x12-intake"
	c, err := Load(env(map[string]string{
		EnvTopology:   `{"pairs":[{"name":"contoso-b2b","primary":"` + weu + `","secondary":"` + neu + `","failover":{"primaryWorkflows":["` + wf + `"],"minBump":5000,"settle":"20s","readiness":"warn"}}]}`,
		EnvAlertRules: `{"rules":[{"ruleId":"` + ruleID + `","pair":"contoso-b2b","action":"failover","mode":"auto"}]}`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	f := c.Pairs[0].Failover
	if len(f.PrimaryWorkflows) != 1 || f.MinBump != 5000 || f.BlockSize != 100 || f.Settle != 20*time.Second || f.Cooldown != 30*time.Minute || f.RequireDuplicateChecks {
		t.Fatalf("failover settings %+v", f)
	}
	if len(c.AlertRules) != 1 || c.AlertRules[0].Pair != "contoso-b2b" || !reflect.DeepEqual(c.AlertRules[0].Resources, []string{weu, neu, wf}) {
		t.Fatalf("alert rules %+v", c.AlertRules)
	}
}

func TestPairResourcesAreBothSidesOfAPair(t *testing.T) {
	fgDB := "/subscriptions/s/resourceGroups/ssis-weu/providers/Microsoft.Sql/servers/sql-weu/failoverGroups/fg-ssis"
	fgDB2 := "/subscriptions/s/resourceGroups/ssis-neu/providers/Microsoft.Sql/servers/sql-neu/failoverGroups/fg-ssis"
	wf := "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/workflows/x12-intake"
	wf2 := "/subscriptions/s/resourceGroups/g2/providers/Microsoft.Logic/workflows/x12-intake"
	c := Config{
		Pairs:     []Pair{{Name: "contoso-b2b", Primary: weu, Secondary: neu, Failover: Failover{PrimaryWorkflows: []string{wf}, SecondaryWorkflows: []string{wf2}}}},
		SSISPairs: []SSISPair{{Name: "contoso-ssis", Primary: SSISSide{FailoverGroup: fgDB, DataFactory: adfWEU}, Secondary: SSISSide{FailoverGroup: fgDB2, DataFactory: adfNEU}}},
	}
	tests := []struct {
		name, pair string
		want       []string
		ok         bool
	}{
		{"an integration-account pair: both accounts and both sides' workflows", "Contoso-B2B", []string{weu, neu, wf, wf2}, true},
		{"an SSIS pair: failover groups, their servers and the factories", "contoso-ssis", []string{fgDB, adfWEU, "/subscriptions/s/resourceGroups/ssis-weu/providers/Microsoft.Sql/servers/sql-weu", fgDB2, adfNEU, "/subscriptions/s/resourceGroups/ssis-neu/providers/Microsoft.Sql/servers/sql-neu"}, true},
		{"no such pair", "fabrikam", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := c.PairResources(tt.pair)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("PairResources(%q) = %v, %v; want %v, %v", tt.pair, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestTheStaticTokenIsAllowedForALoopbackEndpointOnly(t *testing.T) {
	for endpoint, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:1": true, "http://[::1]:9": true,
		"https://management.azure.com": false, "http://10.0.0.4": false,
	} {
		_, err := Load(env(map[string]string{EnvARMEndpoint: endpoint, EnvCredential: CredentialLocal}))
		if (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", endpoint, err, ok)
		}
	}
}

// A key, connection string or SAS pasted into the wrong setting is not printed: the
// error names the setting and the shape it wants, never the value.
func TestLoadDoesNotEchoASecret(t *testing.T) {
	const key = "c2VjcmV0LWtleS1vZi10aGUtbmFtZXNwYWNl="
	const sig = "sv=2022-11-02&ss=t&srt=sco&sp=rwdlacu&se=2030-01-01T00:00:00Z&sig=" + key
	sbConnection := "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=" + key
	storageConnection := "DefaultEndpointsProtocol=https;AccountName=contoso;AccountKey=" + key + ";EndpointSuffix=core.windows.net"
	tests := []struct {
		name      string
		overrides map[string]string
		want      []string // in the error
	}{
		{"a Service Bus connection string as the namespace", map[string]string{EnvServiceBusNS: sbConnection}, []string{EnvServiceBusNS, "connection string", "<namespace>.servicebus.windows.net"}},
		{"a key as the namespace", map[string]string{EnvServiceBusNS: key}, []string{EnvServiceBusNS, "<namespace>.servicebus.windows.net"}},
		{"a Service Bus connection string as the queue", map[string]string{EnvCommandQueue: sbConnection}, []string{EnvCommandQueue, "queue name", "character"}},
		{"a storage connection string as the table", map[string]string{EnvTable: storageConnection}, []string{EnvTable, "table name", "characters"}},
		{"a table URL with a SAS", map[string]string{EnvTableURL: "https://contoso.table.core.windows.net/?" + sig}, []string{EnvTableURL, "SAS", "https://<account>.table.core.windows.net"}},
		{"a storage connection string as the table URL", map[string]string{EnvTableURL: storageConnection}, []string{EnvTableURL, "connection string"}},
		{"a table URL with a password in it", map[string]string{EnvTableURL: "https://contoso:" + key + "@contoso.table.core.windows.net/"}, []string{EnvTableURL, "user information"}},
		{"a connection string as the ARM endpoint", map[string]string{EnvARMEndpoint: storageConnection}, []string{EnvARMEndpoint, "https://management.azure.com"}},
		{"an ARM endpoint with a token in its query", map[string]string{EnvARMEndpoint: "https://management.azure.com/?" + sig}, []string{EnvARMEndpoint, "query"}},
		{"a client secret as the credential", map[string]string{EnvCredential: key}, []string{EnvCredential, CredentialManagedIdentity}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(tt.overrides))
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			for _, secret := range []string{key, "SharedAccessKey=", "AccountKey=", "sig="} {
				if strings.Contains(msg, secret) {
					t.Errorf("the error shows %q: %s", secret, msg)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not say %q: %s", w, msg)
				}
			}
		})
	}
}

// A table service URL reached with the identity loads; the placeholder namespace of
// local.settings.json.example too.
func TestLoadAcceptsEndpointsWithoutSecrets(t *testing.T) {
	for _, overrides := range []map[string]string{
		{EnvStorage: "", EnvTableURL: "https://contoso.table.core.windows.net"},
		{EnvStorage: "", EnvTableURL: "https://contoso.table.core.windows.net/"},
		{EnvServiceBusNS: "<namespace>.servicebus.windows.net", EnvCommandQueue: "dr-commands"},
		{EnvARMEndpoint: "https://management.usgovcloudapi.net/"},
	} {
		if _, err := Load(env(overrides)); err != nil {
			t.Errorf("%v: %v", overrides, err)
		}
	}
}
