package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/session"
)

const (
	alertRule   = "contoso-ia-weu-unavailable"
	alertRuleID = "/subscriptions/" + localstack.Subscription + "/resourceGroups/" + localstack.PrimaryGroup + "/providers/Microsoft.Insights/metricAlerts/" + alertRule
	intake      = "x12-intake"
	commandsQ   = "dr-commands"
	agreementsN = 40
)

// drStack is a stack with agreements, their generated numbers, intake workflows on
// both sides, and the host simulator in front of the handler.
type drStack struct {
	*stack
	host *hostsim.Host
}

func newDRStack(t *testing.T, mode string) *drStack {
	t.Helper()
	topo, _ := json.Marshal(map[string]any{"pairs": []map[string]any{{
		"name": localstack.PairName, "overlap": "1m",
		"primary":   localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct),
		"secondary": localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct),
		"failover": map[string]any{
			"primaryWorkflows":   []string{localstack.WorkflowID(localstack.PrimaryGroup, intake)},
			"secondaryWorkflows": []string{localstack.WorkflowID(localstack.SecondaryGroup, intake)},
			"settle":             "1s", "cooldown": "0s",
		},
	}}})
	rules, _ := json.Marshal(map[string]any{"rules": []map[string]string{{"ruleId": alertRuleID, "pair": localstack.PairName, "action": "failover", "mode": mode}}})
	settings := map[string]string{
		"DR_TOPOLOGY": string(topo), "DR_ALERT_RULES": string(rules),
		"DR_COMMAND_QUEUE": commandsQ, "ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
		"DR_REPLICATION_SCHEDULE": "*/10 * * * * *", "DR_OPERATIONS_SCHEDULE": "*/10 * * * * *", "DR_SSIS_SCHEDULE": "*/10 * * * * *",
	}
	s := newStack(t, time.Minute, settings)
	for _, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
		for _, name := range localstack.SeedAgreements(s.arm, side[0], side[1], agreementsN) {
			if side[0] != localstack.PrimaryGroup {
				continue
			}
			for i, level := range []string{"Icn", "Gcn", "Tscn"} {
				protocol := "X12"
				if strings.HasSuffix(name, "EDIFACT") {
					protocol = "EDIFACT"
				}
				s.arm.PutSession(side[0], side[1], name+"-"+level, controlNumber(protocol, 1000+i, time.Now()))
			}
		}
	}
	localstack.Workflows(s.arm, localstack.PrimaryGroup, intake)
	s.arm.PutWorkflow(localstack.SecondaryGroup, intake, armlogic.WorkflowStateDisabled)
	if r := s.tick(); r.Status != http.StatusOK {
		t.Fatalf("first sync: %d %v", r.Status, r.Logs)
	}
	s.requireConverged()
	app, err := hostsim.Load(filepath.Join("..", "functions"), s.env)
	if err != nil {
		t.Fatal(err)
	}
	return &drStack{stack: s, host: hostsim.New(app, s.handler.URL, hostsim.Options{})}
}

// controlNumber is a generated number's content with the width the protocol uses.
func controlNumber(protocol string, n int, at time.Time) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"ControlNumber": fmt.Sprintf("%09d", n), "ControlNumberChangedTime": at.UTC().Format(time.RFC3339Nano), "MessageType": protocol})
	return b
}

// generated is name → number of a side's generated control numbers.
func generated(t *testing.T, sessions map[string]json.RawMessage) map[string]int {
	t.Helper()
	out := map[string]int{}
	for name, c := range sessions {
		if session.Classify(name, session.ParseContent(c)) != session.Generated {
			continue
		}
		n, err := strconv.Atoi(session.ParseContent(c).ControlNumber)
		if err != nil {
			t.Fatalf("%s: %s", name, c)
		}
		out[name] = n
	}
	return out
}

func commonAlert(id, condition string) []byte {
	b, _ := json.Marshal(map[string]any{
		"schemaId": "azureMonitorCommonAlertSchema",
		"data": map[string]any{
			"essentials": map[string]any{
				"alertId":   "/subscriptions/" + localstack.Subscription + "/providers/Microsoft.AlertsManagement/alerts/" + id,
				"alertRule": alertRule, "severity": "Sev1", "signalType": "Metric", "monitorCondition": condition,
				"monitoringService": "Platform", "alertTargetIDs": []string{localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct)},
				"firedDateTime": time.Now().UTC().Format(time.RFC3339),
			},
			"alertContext": map[string]any{},
		},
	})
	return b
}

func (d *drStack) postAlert(body []byte) hostsim.Response {
	d.t.Helper()
	resp, err := d.host.HTTP(d.ctx, handlers.FnAlertIntake, hostsim.Request{Method: http.MethodPost, Headers: http.Header{"Content-Type": {"application/json"}}, Body: body})
	if err != nil {
		d.t.Fatalf("alert: %v", err)
	}
	return resp
}

func (d *drStack) deliver() hostsim.Delivery {
	d.t.Helper()
	del, err := d.host.DeliverOne(d.ctx, handlers.FnRunCommand)
	if err != nil {
		d.t.Fatalf("deliver: %v", err)
	}
	return del
}

// operation decodes the operation a RunCommand or AdvanceOperations reply returned.
func operation(t *testing.T, r hostsim.Result) journal.Operation {
	t.Helper()
	var op journal.Operation
	if err := json.Unmarshal(r.ReturnValue, &op); err != nil {
		t.Fatalf("reply %d %s: %v", r.Status, r.ReturnValue, err)
	}
	return op
}

// advance runs the operations timer until cond holds.
func (d *drStack) advance(what string, cond func() bool) {
	d.t.Helper()
	d.waitFor(what, time.Minute, func() bool {
		if _, err := d.host.Timer(d.ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true}); err != nil {
			d.t.Fatal(err)
		}
		return cond()
	})
}

func (d *drStack) workflowOn(group string) bool {
	st, _ := d.arm.WorkflowState(group, intake)
	return st == armlogic.WorkflowStateEnabled
}

func TestAnAlertFailsThePairOverAndNoNumberIsSentTwice(t *testing.T) {
	d := newDRStack(t, "auto")
	// The primary sends right up to the outage; these numbers never replicate.
	for name, n := range generated(t, d.primary()) {
		if strings.HasSuffix(name, "Icn") {
			d.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, name, controlNumber("X12", n+7, time.Now()))
		}
	}
	sentByPrimary := generated(t, d.primary())
	d.arm.SetUnreachable(localstack.PrimaryGroup, "", true)

	body := commonAlert("6c9b2f", "Fired")
	if resp := d.postAlert(body); resp.StatusCode != http.StatusAccepted || len(d.host.Messages(commandsQ)) != 1 {
		t.Fatalf("alert answered %d %s; %d messages queued", resp.StatusCode, resp.Body, len(d.host.Messages(commandsQ)))
	}
	op := operation(t, d.deliver().Result)
	d.advance("the secondary to become active", func() bool {
		cp := d.checkpoint()
		return cp.Epoch == 1 && d.workflowOn(localstack.SecondaryGroup)
	})
	for name, n := range generated(t, d.secondary()) {
		if n <= sentByPrimary[name] {
			t.Errorf("%s: the secondary will send %d, not above the primary's %d", name, n, sentByPrimary[name])
		}
	}
	// The action group sends the same alert again: one command, bumped once.
	writes := d.standbyWrites()
	if resp := d.postAlert(body); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("re-sent alert: %d %s", resp.StatusCode, resp.Body)
	}
	again := operation(t, d.deliver().Result)
	if again.ID != op.ID || d.standbyWrites() != writes {
		t.Fatalf("the re-sent alert ran %s (first %s) and wrote %d more", again.ID, op.ID, d.standbyWrites()-writes)
	}
	// The primary comes back: the pending fence is applied within one tick.
	if !d.workflowOn(localstack.PrimaryGroup) {
		t.Fatal("the unreachable primary's workflow changed")
	}
	d.arm.SetUnreachable(localstack.PrimaryGroup, "", false)
	if _, err := d.host.Timer(d.ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true}); err != nil {
		t.Fatal(err)
	}
	if d.workflowOn(localstack.PrimaryGroup) {
		t.Fatal("the primary's intake is still on one tick after it answered")
	}
	t.Logf("alert → %s: %d generated numbers above the primary's; fence applied when the primary came back", op.ID, len(sentByPrimary))
}

func TestBadCommandsAreJournaledAndCompleted(t *testing.T) {
	d := newDRStack(t, "auto")
	writes := d.standbyWrites()
	for _, body := range []string{
		`{not json`,
		`{"action":"failover","pair":"nope"}`,
		`{"action":"explode","pair":"` + localstack.PairName + `"}`,
		`{"action":"failover","pair":"` + localstack.PairName + `","reason":"` + strings.Repeat("x", 70<<10) + `"}`,
	} {
		if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		del := d.deliver()
		if del.Outcome != hostsim.Completed || del.Status != http.StatusOK || !strings.Contains(strings.Join(del.Logs, " "), "rejected") {
			t.Fatalf("%.40s: outcome %s, status %d, logs %v", body, del.Outcome, del.Status, del.Logs)
		}
	}
	if d.standbyWrites() != writes || d.checkpoint().Epoch != 0 {
		t.Fatal("a rejected command changed something")
	}
}

func TestADrillAndADryRunWriteNothing(t *testing.T) {
	d := newDRStack(t, "auto")
	for _, body := range []string{
		`{"id":"drill-1","action":"drill","pair":"` + localstack.PairName + `"}`,
		`{"id":"dry-1","action":"failover","pair":"` + localstack.PairName + `","dryRun":true}`,
	} {
		before := len(d.arm.Writes(localstack.SecondaryGroup, "")) + d.standbyWrites()
		if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(body)}); err != nil {
			t.Fatal(err)
		}
		op := operation(t, d.deliver().Result)
		if op.Status != journal.Succeeded || len(d.arm.Writes(localstack.SecondaryGroup, ""))+d.standbyWrites() != before {
			t.Fatalf("%s: status %s %q; writes %d", op.ID, op.Status, op.Error, len(d.arm.Writes(localstack.SecondaryGroup, ""))+d.standbyWrites()-before)
		}
	}
}

func TestAProposedFailoverWaitsForConfirmation(t *testing.T) {
	d := newDRStack(t, "propose")
	resp := d.postAlert(commonAlert("a1", "Fired"))
	var body map[string]string
	_ = json.Unmarshal(resp.Body, &body)
	if resp.StatusCode != http.StatusAccepted || body["result"] != "proposed" || len(d.host.Messages(commandsQ)) != 0 {
		t.Fatalf("proposal: %d %s, %d queued", resp.StatusCode, resp.Body, len(d.host.Messages(commandsQ)))
	}
	if d.checkpoint().Epoch != 0 {
		t.Fatal("a proposal changed something")
	}
	writes := d.standbyWrites()
	// A Resolved alert starts nothing either.
	if resp := d.postAlert(commonAlert("a1", "Resolved")); resp.StatusCode != http.StatusOK || d.standbyWrites() != writes {
		t.Fatalf("resolved: %d %s", resp.StatusCode, resp.Body)
	}
	confirm := fmt.Sprintf(`{"id":"confirm-1","action":"confirm","pair":%q,"target":%q,"requestedBy":"ops"}`, localstack.PairName, body["id"])
	if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(confirm)}); err != nil {
		t.Fatal(err)
	}
	d.deliver()
	d.advance("the confirmed failover to flip the pair", func() bool { return d.checkpoint().Epoch == 1 })
}

func TestAnAlertFromAnUnlistedRuleOrSchemaIsRefused(t *testing.T) {
	d := newDRStack(t, "auto")
	other := strings.Replace(string(commonAlert("x", "Fired")), alertRule, "someone-elses-rule", 1)
	for _, tt := range []struct {
		body string
		want int
	}{{other, http.StatusForbidden}, {`{"schemaId":"Microsoft.Insights/activityLogs","data":{}}`, http.StatusBadRequest}} {
		if resp := d.postAlert([]byte(tt.body)); resp.StatusCode != tt.want || len(d.host.Messages(commandsQ)) != 0 {
			t.Fatalf("answered %d %s, want %d and nothing queued", resp.StatusCode, resp.Body, tt.want)
		}
	}
}

func TestAPlanKilledMidwayResumesOnRedeliveryAndBumpsOnce(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			d := newDRStack(t, "auto")
			// Slow enough to kill in the middle of the bumps.
			d.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond})
			replicated := generated(t, d.secondary())
			rng := rand.New(rand.NewPCG(seed, 3))
			at := d.standbyWrites() + 1 + rng.IntN(len(replicated)-10)
			if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(`{"id":"kill-1","action":"failover","pair":"` + localstack.PairName + `"}`)}); err != nil {
				t.Fatal(err)
			}
			done := make(chan hostsim.Delivery, 1)
			go func() {
				del, _ := d.host.DeliverOne(context.Background(), handlers.FnRunCommand)
				done <- del
			}()
			d.waitFor(fmt.Sprintf("%d standby writes", at), time.Minute, func() bool { return d.standbyWrites() >= at })
			d.handler.Kill()
			if del := <-done; del.Outcome != hostsim.Abandoned {
				t.Fatalf("the killed delivery was %s", del.Outcome)
			}
			d.start()
			d.host.SetURL(d.handler.URL)
			if op := operation(t, d.deliver().Result); op.Status != journal.Waiting && op.Status != journal.Succeeded {
				t.Fatalf("redelivered: %s %q", op.Status, op.Error)
			}
			d.advance("the pair to flip", func() bool { return d.checkpoint().Epoch == 1 })
			for name, n := range generated(t, d.secondary()) {
				from, ok := replicated[name]
				if !ok {
					// A number the secondary never held (acknowledgements) starts past
					// the agreement's lower bound by the margin, once.
					if n < 1000 || n > 2000 {
						t.Errorf("%s: %d, want one bump of 1000 past its lower bound", name, n)
					}
					continue
				}
				if want := from + 1000; n != want {
					t.Errorf("%s: %d, want exactly one bump of 1000 from %d", name, n, from)
				}
			}
		})
	}
}

func TestAMessageThatKeepsFailingEndsInTheDeadLetterQueueAndTheJournalSaysWhy(t *testing.T) {
	d := newDRStack(t, "auto")
	d.host.ConfigureQueue(commandsQ, hostsim.QueueOptions{MaxDeliveryCount: 3})
	// The target's ARM answers nothing: every attempt fails in its readiness check.
	d.arm.SetUnreachable(localstack.SecondaryGroup, "", true)
	if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(`{"id":"doomed-1","action":"failover","pair":"` + localstack.PairName + `"}`)}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if del := d.deliver(); del.Outcome == hostsim.Completed {
			t.Fatalf("delivery %d completed: %v", i, del.Logs)
		}
	}
	dead := d.host.DeadLetters(commandsQ)
	if len(dead) != 1 || dead[0].DeadLetterReason != "MaxDeliveryCountExceeded" {
		t.Fatalf("dead letters %+v", dead)
	}
	// What an operator reads: the operation and its last error.
	d.arm.SetUnreachable(localstack.SecondaryGroup, "", false)
	op := d.journalOp("doomed-1")
	if !strings.Contains(op.Error, "does not answer") {
		t.Fatalf("the journal says %s %q; want why the command kept failing", op.Status, op.Error)
	}
	if d.checkpoint().Epoch != 0 {
		t.Fatal("a failing command flipped the pair")
	}
}

// journalOp reads an operation of the demo pair from Table Storage.
func (d *drStack) journalOp(id string) journal.Operation {
	d.t.Helper()
	op, err := d.journal().Get(d.ctx, localstack.PairName, id)
	if err != nil {
		d.t.Fatal(err)
	}
	return op
}

func TestFailoverThenFallbackSendsNoNumberTwiceAndLosesNoChange(t *testing.T) {
	d := newDRStack(t, "auto")
	agr := d.agreements()
	sender := localstack.NewSender(d.arm, agr, 5)
	send := func(group, acct string, n int) {
		for range n {
			if err := sender.Step(group, acct, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(localstack.PrimaryGroup, localstack.PrimaryAcct, 60)
	d.tick()
	send(localstack.PrimaryGroup, localstack.PrimaryAcct, 20) // never replicated
	d.command(`{"id":"fo-1","action":"failover","pair":"` + localstack.PairName + `"}`)
	d.advance("the failover", func() bool { return d.journalOp("fo-1").Status == journal.Succeeded })
	send(localstack.SecondaryGroup, localstack.SecondaryAcct, 60)
	d.tick()
	send(localstack.SecondaryGroup, localstack.SecondaryAcct, 10)
	d.command(`{"id":"fb-1","action":"fallback","pair":"` + localstack.PairName + `"}`)
	d.advance("the fallback", func() bool {
		d.tick()
		return d.journalOp("fb-1").Status == journal.Succeeded
	})
	send(localstack.PrimaryGroup, localstack.PrimaryAcct, 60)
	d.waitFor("forward replication to converge", time.Minute, func() bool {
		d.tick()
		return len(localstack.Differences(d.primary(), d.secondary())) == 0
	})
	if n := sender.Ledger.Duplicates(localstack.PrimaryAcct, localstack.SecondaryAcct); n != 0 {
		t.Fatalf("%d control numbers sent by both sides", n)
	}
	for _, name := range sender.Ledger.Received {
		if _, ok := d.primary()[name]; !ok {
			t.Fatalf("received number %s was lost", name)
		}
	}
	if cp := d.checkpoint(); cp.Epoch != 2 || cp.LastError != "" {
		t.Fatalf("forward replication: epoch %d, last error %q", cp.Epoch, cp.LastError)
	}
	t.Logf("sent %d on the primary and %d on the secondary; no number twice, nothing lost", sender.Ledger.Sent(localstack.PrimaryAcct), sender.Ledger.Sent(localstack.SecondaryAcct))
}

// agreements is the demo stack's agreements, as the sender needs them.
func (d *drStack) agreements() []localstack.Agreement {
	var out []localstack.Agreement
	for name := range d.arm.Sessions(localstack.PrimaryGroup, localstack.PrimaryAcct) {
		if agr, ok := strings.CutSuffix(name, "-Icn"); ok {
			protocol := "X12"
			if strings.HasSuffix(agr, "EDIFACT") {
				protocol = "EDIFACT"
			}
			out = append(out, localstack.Agreement{Name: agr, Protocol: protocol})
		}
	}
	return out
}

// command sends a command and delivers it.
func (d *drStack) command(body string) hostsim.Delivery {
	d.t.Helper()
	if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(body)}); err != nil {
		d.t.Fatal(err)
	}
	return d.deliver()
}

func TestASecondCommandForTheSamePairIsRefusedAndAStaleEpochToo(t *testing.T) {
	d := newDRStack(t, "auto")
	first := operation(t, d.command(`{"id":"first","action":"failover","pair":"`+localstack.PairName+`"}`).Result)
	if first.Status != journal.Waiting { // settling
		t.Fatalf("first: %s %q", first.Status, first.Error)
	}
	second := operation(t, d.command(`{"id":"second","action":"failover","pair":"`+localstack.PairName+`"}`).Result)
	if second.Status != journal.Rejected || !strings.Contains(second.Error, "first") {
		t.Fatalf("second: %s %q; want it refused naming the first", second.Status, second.Error)
	}
	d.advance("the first to finish", func() bool { return d.journalOp("first").Status == journal.Succeeded })
	stale := operation(t, d.command(`{"id":"stale","action":"fallback","pair":"`+localstack.PairName+`","expectedEpoch":0}`).Result)
	if stale.Status != journal.Rejected || !strings.Contains(stale.Error, "expected epoch 0") {
		t.Fatalf("stale epoch: %s %q", stale.Status, stale.Error)
	}
}

func TestABoundWithNoRoomRefusesOrWrapsAsTheAgreementSays(t *testing.T) {
	for _, rollover := range []bool{false, true} {
		t.Run(fmt.Sprintf("rollover %v", rollover), func(t *testing.T) {
			d := newDRStack(t, "auto")
			const name = "Tight-Partner-X12"
			for _, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
				d.arm.PutAgreement(side[0], side[1], localstack.X12Agreement(name, 1, 1500, rollover, true))
			}
			d.arm.PutSession(localstack.PrimaryGroup, localstack.PrimaryAcct, name+"-Icn", controlNumber("X12", 1200, time.Now()))
			d.tick()
			writes := d.standbyWrites()
			op := operation(t, d.command(`{"id":"tight","action":"failover","pair":"`+localstack.PairName+`"}`).Result)
			if !rollover {
				if op.Status != journal.Rejected || !strings.Contains(op.Error, name) || d.standbyWrites() != writes || d.checkpoint().Epoch != 0 {
					t.Fatalf("%s %q; %d writes", op.Status, op.Error, d.standbyWrites()-writes)
				}
				return
			}
			d.advance("the failover", func() bool { return d.journalOp("tight").Status == journal.Succeeded })
			got := session.ParseContent(d.secondary()[name+"-Icn"]).ControlNumber
			if n, _ := strconv.Atoi(got); len(got) != 9 || n >= 1200 || n < 1 {
				t.Fatalf("%s-Icn is %q; want the number wrapped to the low end, nine digits wide", name, got)
			}
		})
	}
}
