package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"integration-dr/dev/localstack"
	"integration-dr/journal"
)

// journalOps lists the operations the journal holds for a pair ("unknown" holds
// alerts that no allow-list entry claims).
func (d *drStack) journalOps(pair string) []journal.Operation {
	d.t.Helper()
	ops, err := d.journal().List(d.ctx, pair, 0)
	if err != nil {
		d.t.Fatal(err)
	}
	return ops
}

// forged is the allow-listed rule's alert with essentials changed.
func forged(t *testing.T, change func(e map[string]any)) []byte {
	t.Helper()
	var a map[string]any
	if err := json.Unmarshal(commonAlert("forged-1", "Fired"), &a); err != nil {
		t.Fatal(err)
	}
	change(a["data"].(map[string]any)["essentials"].(map[string]any))
	b, _ := json.Marshal(a)
	return b
}

// Alerts that name the allow-listed rule but do not come from it, or are not about its
// pair, and alerts too large to read, go through the host simulator to the real
// handler: each is answered with a JSON error, starts nothing, and the journal says why.
func TestAForgedOrOversizedAlertStartsNothingAndTheJournalSaysWhy(t *testing.T) {
	d := newDRStack(t, "auto")
	otherSub := "99999999-0000-0000-0000-000000000000"
	outside := "/subscriptions/" + localstack.Subscription + "/resourceGroups/" + localstack.PrimaryGroup + "/providers/Microsoft.Logic/integrationAccounts/someone-elses-account"
	tests := []struct {
		name    string
		body    []byte
		status  int
		journal string // the pair whose journal records it
		says    string
	}{
		{
			"the right rule name from another subscription",
			forged(t, func(e map[string]any) {
				e["alertId"] = "/subscriptions/" + otherSub + "/providers/Microsoft.AlertsManagement/alerts/forged-1"
				e["alertTargetIDs"] = []string{strings.Replace(localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct), localstack.Subscription, otherSub, 1)}
			}),
			http.StatusForbidden, "unknown", `from subscription "` + otherSub + `" is not in DR_ALERT_RULES`,
		},
		{
			"the right rule name with another rule's resource ID",
			forged(t, func(e map[string]any) {
				e["alertRuleID"] = "/subscriptions/" + otherSub + "/resourceGroups/" + localstack.PrimaryGroup + "/providers/Microsoft.Insights/metricAlerts/" + alertRule
			}),
			http.StatusForbidden, "unknown", "an entry names a rule of that name with another resource ID",
		},
		{
			"the right rule about a resource outside the pair",
			forged(t, func(e map[string]any) { e["alertTargetIDs"] = []string{outside} }),
			http.StatusForbidden, localstack.PairName, "is not a resource of pair " + localstack.PairName,
		},
		{
			"an alert larger than the handler reads",
			forged(t, func(e map[string]any) { e["description"] = strings.Repeat("x", 1100<<10) }),
			http.StatusRequestEntityTooLarge, "unknown", "larger than 1048576 bytes",
		},
		{
			"an alert larger than the common alert schema allows",
			forged(t, func(e map[string]any) { e["description"] = strings.Repeat("x", 300<<10) }),
			http.StatusRequestEntityTooLarge, "unknown", "the common alert schema's limit is 262144",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes, before := d.standbyWrites(), len(d.journalOps(tt.journal))
			resp := d.postAlert(tt.body)
			var answer map[string]string
			if resp.StatusCode != tt.status || json.Unmarshal(resp.Body, &answer) != nil || !strings.Contains(answer["error"], tt.says) {
				t.Fatalf("answered %d %.300s; want %d with a JSON error saying %q", resp.StatusCode, resp.Body, tt.status, tt.says)
			}
			if n := len(d.host.Messages(commandsQ)); n != 0 || d.standbyWrites() != writes || d.checkpoint().Epoch != 0 || !d.workflowOn(localstack.PrimaryGroup) {
				t.Fatalf("something started: %d commands queued, %d standby writes, epoch %d", n, d.standbyWrites()-writes, d.checkpoint().Epoch)
			}
			ops := d.journalOps(tt.journal)
			if len(ops) != before+1 {
				t.Fatalf("journal of %s holds %d operations, want %d", tt.journal, len(ops), before+1)
			}
			found := false
			for _, op := range ops {
				if op.Status == journal.Rejected && strings.Contains(op.Error, tt.says) {
					found = true
				}
				if op.Status != journal.Rejected {
					t.Errorf("the journal of %s holds %s %s: only rejections were expected", tt.journal, op.ID, op.Status)
				}
			}
			if !found {
				t.Fatalf("no rejection in the journal of %s says %q: %+v", tt.journal, tt.says, ops)
			}
		})
	}
	// The genuine alert still acts: the refusals above are about where alerts come from.
	if resp := d.postAlert(commonAlert("genuine-1", "Fired")); resp.StatusCode != http.StatusAccepted || len(d.host.Messages(commandsQ)) != 1 {
		t.Fatalf("the allow-listed rule's alert answered %d %s", resp.StatusCode, resp.Body)
	}
}
