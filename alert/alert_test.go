package alert

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"integration-dr/command"
	"integration-dr/drerr"
)

// Payloads in the shapes Microsoft documents for the common alert schema, with made-up
// values.

const metricFired = `{
  "schemaId": "azureMonitorCommonAlertSchema",
  "data": {
    "essentials": {
      "alertId": "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.AlertsManagement/alerts/0b0e8f2a-6c1d-4e0a-9f3b-1a2b3c4d5e6f",
      "alertRule": "ia-weu-failing",
      "severity": "Sev1",
      "signalType": "Metric",
      "monitorCondition": "Fired",
      "monitoringService": "Platform",
      "alertTargetIDs": ["/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-weu/providers/microsoft.logic/integrationaccounts/ia-weu"],
      "configurationItems": ["ia-weu"],
      "originAlertId": "11111111-2222-3333-4444-555555555555_rg-weu_microsoft.insights_metricalerts_ia-weu-failing_42",
      "firedDateTime": "2026-03-02T10:15:00.1234567Z",
      "description": "runs failing in West Europe",
      "essentialsVersion": "1.0",
      "alertContextVersion": "1.0"
    },
    "alertContext": {"properties": null, "conditionType": "SingleResourceMultipleMetricCriteria",
      "condition": {"windowSize": "PT5M", "allOf": [{"metricName": "RunsFailed", "operator": "GreaterThan", "threshold": "5", "metricValue": 12.0}]}},
    "customProperties": {"pair": "contoso-b2b", "runbook": 7}
  }
}`

const metricResolved = `{
  "schemaId": "azureMonitorCommonAlertSchema",
  "data": {"essentials": {
    "alertId": "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/a-1",
    "alertRule": "ia-weu-failing", "severity": "Sev1", "signalType": "Metric",
    "monitorCondition": "resolved",
    "firedDateTime": "2026-03-02T10:15:00Z", "resolvedDateTime": "2026-03-02T10:40:00Z"
  }}
}`

// Budget alerts leave the rule, severity, signal and targets null.
const budgetFired = `{
  "schemaId": "azureMonitorCommonAlertSchema",
  "data": {"essentials": {
    "monitoringService": "CostAlerts", "firedDateTime": "2026-03-02T11:00:00.5Z",
    "alertId": "/subscriptions/s/providers/Microsoft.CostManagement/alerts/Monthly",
    "alertRule": null, "severity": null, "signalType": null, "monitorCondition": "Fired",
    "alertTargetIDs": null, "configurationItems": ["budgets"], "originAlertId": null
  }, "alertContext": {"AlertCategory": "budgets", "AlertData": {"BudgetName": "Monthly", "SpentAmount": "$10.00"}}}
}`

// Service Health sends some context fields as numbers; here essentials too, to show
// numbers are read as text wherever text is expected.
const serviceHealth = `{
  "schemaId": "azureMonitorCommonAlertSchema",
  "data": {"essentials": {
    "alertId": "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/sh-1",
    "alertRule": "weu-incident", "severity": 2, "signalType": "Activity Log",
    "monitorCondition": "Fired", "monitoringService": "ServiceHealth",
    "alertTargetIDs": ["/subscriptions/s", 17], "firedDateTime": "2026-03-02T12:00:00+00:00"
  }, "alertContext": {"channels": 1, "eventSource": 2, "level": 3, "properties": {"stage": "Active", "isHIR": false}}}
}`

const withRuleID = `{
  "schemaId": "azureMonitorCommonAlertSchema",
  "data": {"essentials": {
    "alertId": "/subscriptions/s/providers/Microsoft.AlertsManagement/alerts/q-1",
    "alertRule": "heartbeat-missing",
    "alertRuleId": "/subscriptions/s/resourceGroups/rg-dr/providers/microsoft.insights/scheduledQueryRules/heartbeat-missing",
    "monitorCondition": "Fired", "firedDateTime": "2026-03-02T13:00:00"
  }}
}`

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, a Alert)
	}{
		{"a fired metric alert yields its essentials and custom properties", metricFired, func(t *testing.T, a Alert) {
			want := Alert{
				ID:                "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.AlertsManagement/alerts/0b0e8f2a-6c1d-4e0a-9f3b-1a2b3c4d5e6f",
				Rule:              "ia-weu-failing",
				Severity:          "Sev1",
				SignalType:        "Metric",
				MonitoringService: "Platform",
				Condition:         Fired,
				TargetIDs:         []string{"/subscriptions/11111111-2222-3333-4444-555555555555/resourcegroups/rg-weu/providers/microsoft.logic/integrationaccounts/ia-weu"},
				OriginAlertID:     "11111111-2222-3333-4444-555555555555_rg-weu_microsoft.insights_metricalerts_ia-weu-failing_42",
				FiredAt:           time.Date(2026, 3, 2, 10, 15, 0, 123456700, time.UTC),
				Description:       "runs failing in West Europe",
				CustomProperties:  map[string]string{"pair": "contoso-b2b", "runbook": "7"},
			}
			if !reflect.DeepEqual(a, want) {
				t.Fatalf("Parse =\n%+v\nwant\n%+v", a, want)
			}
		}},
		{"a resolved alert is Resolved whatever the case, with its resolved time", metricResolved, func(t *testing.T, a Alert) {
			if a.Condition != Resolved || !a.ResolvedAt.Equal(time.Date(2026, 3, 2, 10, 40, 0, 0, time.UTC)) {
				t.Fatalf("Condition, ResolvedAt = %q, %v", a.Condition, a.ResolvedAt)
			}
		}},
		{"a budget alert with null rule, severity and targets parses with them empty", budgetFired, func(t *testing.T, a Alert) {
			if a.Rule != "" || a.Severity != "" || a.SignalType != "" || a.TargetIDs != nil || a.OriginAlertID != "" || a.Condition != Fired {
				t.Fatalf("Parse = %+v", a)
			}
		}},
		{"a Service Health alert's numbers are read as text", serviceHealth, func(t *testing.T, a Alert) {
			if a.Severity != "2" || !reflect.DeepEqual(a.TargetIDs, []string{"/subscriptions/s", "17"}) || a.FiredAt.IsZero() {
				t.Fatalf("Parse = %+v", a)
			}
		}},
		{"the rule's resource ID is read from alertRuleId, and a time without zone is UTC", withRuleID, func(t *testing.T, a Alert) {
			if a.RuleID != "/subscriptions/s/resourceGroups/rg-dr/providers/microsoft.insights/scheduledQueryRules/heartbeat-missing" {
				t.Fatalf("RuleID = %q", a.RuleID)
			}
			if !a.FiredAt.Equal(time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC)) {
				t.Fatalf("FiredAt = %v", a.FiredAt)
			}
		}},
		{"a fired alert without rule ID leaves RuleID empty rather than guessing", metricFired, func(t *testing.T, a Alert) {
			if a.RuleID != "" {
				t.Fatalf("RuleID = %q", a.RuleID)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Parse([]byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.check(t, a)
		})
	}
}

func TestParseRefuses(t *testing.T) {
	essentials := func(fields string) string {
		return `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{` + fields + `}}}`
	}
	tests := []struct {
		name, body, op, says string
	}{
		{"a payload over 256 KiB", metricFired[:len(metricFired)-1] + `,"pad":"` + strings.Repeat("x", MaxBody) + `"}`, "alert", "limit is 262144"},
		{"a payload that is not JSON", `schemaId=azureMonitorCommonAlertSchema`, "alert", "not JSON"},
		{"a JSON array", `[` + metricFired + `]`, "alert", "not a JSON object"},
		{"a legacy metric alert payload", `{"schemaId":"AzureMonitorMetricAlert","data":{"status":"Activated","context":{"name":"ia-weu-failing"}}}`, "alert.schemaId", `"AzureMonitorMetricAlert" is not azureMonitorCommonAlertSchema: the action group's receiver must have useCommonAlertSchema: true (it defaults to false)`},
		{"a legacy log alert payload without schemaId", `{"SearchQuery":"Heartbeat","AlertRuleName":"x","Severity":"3"}`, "alert.schemaId", "is missing: the action group's receiver must have useCommonAlertSchema: true"},
		{"a payload without data", `{"schemaId":"azureMonitorCommonAlertSchema"}`, "alert.data.essentials", "is required"},
		{"a payload whose data is a string", `{"schemaId":"azureMonitorCommonAlertSchema","data":"x"}`, "alert.data", "not an object"},
		{"essentials that are an array", `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":[]}}`, "alert.data.essentials", "not an object"},
		{"an alert without alertId", essentials(`"alertRule":"r","monitorCondition":"Fired"`), "alert.data.essentials.alertId", "is required"},
		{"an alert with a null alertId", essentials(`"alertId":null,"monitorCondition":"Fired"`), "alert.data.essentials.alertId", "is required"},
		{"an alert without monitorCondition", essentials(`"alertId":"a","alertRule":"r"`), "alert.data.essentials.monitorCondition", "is required"},
		{"an alert whose monitorCondition is neither Fired nor Resolved", essentials(`"alertId":"a","monitorCondition":"Acknowledged"`), "alert.data.essentials.monitorCondition", `"Acknowledged" is not Fired or Resolved`},
		{"an alert whose firedDateTime is not a time", essentials(`"alertId":"a","monitorCondition":"Fired","firedDateTime":"yesterday"`), "alert.data.essentials.firedDateTime", "not an ISO 8601 time"},
		{"custom properties that are a list", `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":"a","monitorCondition":"Fired"},"customProperties":["pair"]}}`, "alert.data.customProperties", "not an object"},
	}
	for _, tt := range tests {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			assertInvalid(t, err, tt.op, tt.says)
		})
	}
}

func assertInvalid(t *testing.T, err error, op, says string) {
	t.Helper()
	var e *drerr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *drerr.Error", err)
	}
	if e.Code != drerr.Invalid || e.Op != op || !strings.Contains(err.Error(), says) {
		t.Fatalf("error = %s %q: %q, want invalid %q containing %q", e.Code, e.Op, err, op, says)
	}
}

func mustParse(t *testing.T, body string) Alert {
	t.Helper()
	a, err := Parse([]byte(body))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return a
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{metricFired, metricResolved, budgetFired, serviceHealth, withRuleID, `{"schemaId":"azureMonitorCommonAlertSchema","data":{"essentials":{"alertId":1,"monitorCondition":"FIRED","alertTargetIDs":"x"}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := Parse(body)
		if err != nil {
			if !drerr.Is(err, drerr.Invalid) {
				t.Fatalf("Parse error is not invalid: %v", err)
			}
			return
		}
		if a.ID == "" || (a.Condition != Fired && a.Condition != Resolved) {
			t.Fatalf("Parse accepted an alert without id or condition: %+v", a)
		}
		// The command an alert would become must survive the queue unchanged.
		// An entry for whatever rule and targets the alert names, so that it acts.
		r := Rule{RuleID: a.RuleID, Pair: "p", Action: command.Failover, Mode: Auto, Targets: a.TargetIDs}
		if r.RuleID == "" {
			r.RuleID = "/subscriptions/" + subscriptionOf(a.ID) + "/resourceGroups/g/providers/Microsoft.Insights/metricAlerts/" + a.Rule
		}
		d := Decide(a, []Rule{r})
		if d.Verdict != Act {
			return
		}
		c := NewCommand(a, d.Rule)
		if err := c.Validate(nil); err != nil {
			t.Fatalf("NewCommand built an invalid command: %v", err)
		}
		again, err := command.Decode(c.Encode(), "")
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("command round trip = %+v, %v; want %+v", again, err, c)
		}
	})
}
