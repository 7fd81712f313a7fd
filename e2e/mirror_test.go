package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/tables"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/hostsim"
	"integration-dr/dev/localstack"
	"integration-dr/drift"
	"integration-dr/handlers"
	"integration-dr/journal"
	"integration-dr/view"
)

// newMirrorStack is a DR stack (agreements, their numbers, a first sync, the host
// simulator) whose pair has the given drift allow-list, with the B2B artifacts seeded
// on both sides.
func newMirrorStack(t *testing.T, allow []map[string]string, extraEnv map[string]string) *drStack {
	t.Helper()
	pair := map[string]any{
		"name": localstack.PairName, "overlap": "1m",
		"primary":   localstack.AccountID(localstack.PrimaryGroup, localstack.PrimaryAcct),
		"secondary": localstack.AccountID(localstack.SecondaryGroup, localstack.SecondaryAcct),
		"failover": map[string]any{
			"primaryWorkflows":   []string{localstack.WorkflowID(localstack.PrimaryGroup, intake)},
			"secondaryWorkflows": []string{localstack.WorkflowID(localstack.SecondaryGroup, intake)},
			"settle":             "1s", "cooldown": "0s",
		},
	}
	if allow != nil {
		pair["drift"] = map[string]any{"allow": allow}
	}
	topo, _ := json.Marshal(map[string]any{"pairs": []any{pair}})
	settings := map[string]string{
		"DR_TOPOLOGY": string(topo), "DR_COMMAND_QUEUE": commandsQ, "ServiceBusConnection__fullyQualifiedNamespace": "local.servicebus.example",
		"DR_REPLICATION_SCHEDULE": "*/10 * * * * *", "DR_OPERATIONS_SCHEDULE": "*/10 * * * * *", "DR_SSIS_SCHEDULE": "*/10 * * * * *",
	}
	for k, v := range extraEnv {
		settings[k] = v
	}
	s := newStack(t, time.Minute, settings)
	for _, side := range [][2]string{{localstack.PrimaryGroup, localstack.PrimaryAcct}, {localstack.SecondaryGroup, localstack.SecondaryAcct}} {
		for _, name := range localstack.SeedAgreements(s.arm, side[0], side[1], 4) {
			if side[0] == localstack.PrimaryGroup {
				s.arm.PutSession(side[0], side[1], name+"-Icn", controlNumber("X12", 1000, time.Now()))
			}
		}
	}
	if err := localstack.SeedArtifacts(s.arm); err != nil {
		t.Fatal(err)
	}
	localstack.Workflows(s.arm, localstack.PrimaryGroup, intake)
	s.arm.PutWorkflow(localstack.SecondaryGroup, intake, armlogic.WorkflowStateDisabled)
	if r := s.tick(); r.Status != http.StatusOK {
		t.Fatalf("first sync: %d %v", r.Status, r.Logs)
	}
	app, err := hostsim.Load(filepath.Join("..", "functions"), s.env)
	if err != nil {
		t.Fatal(err)
	}
	return &drStack{stack: s, host: hostsim.New(app, s.handler.URL, hostsim.Options{})}
}

// mirrors is the mirrors' journal (the state table's name followed by "mirror").
func (d *drStack) mirrors() *tables.Journal {
	d.t.Helper()
	svc, err := tables.NewServiceClient(d.azurite.ConnectionString(), "", nil, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return tables.AttachJournal(svc, "drstatemirror")
}

// partner is a B2B partner's properties, as the stand-in takes them.
func partner(name string) map[string]any {
	return map[string]any{"partnerType": "B2B", "content": map[string]any{"b2b": map[string]any{
		"businessIdentities": []any{map[string]any{"qualifier": "ZZ", "value": strings.ToUpper(name)}}}}}
}

func TestAMirrorKilledMidwayResumesOnRedeliveryAndCreatesEachArtifactOnce(t *testing.T) {
	d := newMirrorStack(t, nil, nil)
	const n = 40
	for i := range n {
		if err := d.arm.PutArtifact(localstack.PrimaryGroup, localstack.PrimaryAcct, drift.Partner, fmt.Sprintf("Partner-%02d", i), partner(fmt.Sprintf("P%02d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := localstack.MakeDrift(d.arm); err != nil { // and a map on the primary only
		t.Fatal(err)
	}
	creations := func() int {
		total := 0
		for _, c := range d.arm.Creations(localstack.SecondaryGroup, localstack.SecondaryAcct) {
			total += c
		}
		return total
	}
	before := creations()
	// Slow enough to kill in the middle of the creations.
	d.arm.SetFaults(armstandin.Faults{Latency: 20 * time.Millisecond})
	if _, err := d.host.Send(commandsQ, hostsim.Message{Body: []byte(`{"id":"mirror-1","action":"mirror","pair":"` + localstack.PairName + `"}`)}); err != nil {
		t.Fatal(err)
	}
	done := make(chan hostsim.Delivery, 1)
	go func() {
		del, _ := d.host.DeliverOne(context.Background(), handlers.FnRunCommand)
		done <- del
	}()
	d.waitFor("a third of the creations", time.Minute, func() bool { return creations()-before >= n/3 })
	d.handler.Kill()
	if del := <-done; del.Outcome != hostsim.Abandoned {
		t.Fatalf("the killed delivery was %s", del.Outcome)
	}
	landed := creations() - before
	d.start()
	d.host.SetURL(d.handler.URL)
	del := d.deliver()
	if op := operation(t, del.Result); del.Outcome != hostsim.Completed || op.Status != journal.Succeeded {
		t.Fatalf("redelivered: %s, operation %s %q\n%v", del.Outcome, op.Status, op.Error, del.Logs)
	}
	for name, c := range d.arm.Creations(localstack.SecondaryGroup, localstack.SecondaryAcct) {
		if c != 1 {
			t.Errorf("%s created %d times", name, c)
		}
	}
	if got := creations() - before; got != n+1 {
		t.Errorf("%d creations, want %d partners and the map", got, n+1)
	}
	op, err := d.mirrors().Get(d.ctx, localstack.PairName, "mirror-1")
	if err != nil || op.Status != journal.Succeeded {
		t.Fatalf("journal: %+v %v", op, err)
	}
	// The standby holds what the primary holds: a drift command through the queue says so.
	del = d.command(`{"id":"drift-1","action":"drift","pair":"` + localstack.PairName + `"}`)
	if op := operation(t, del.Result); op.Status != journal.Succeeded || !strings.HasPrefix(op.Steps[0].Outcome, "no drift") {
		t.Errorf("drift after the mirror: %s %+v", op.Status, op.Steps)
	}
	t.Logf("killed after %d of %d creations; resumed by redelivery; each artifact created once", landed, n+1)
}

func TestTheAllowListDecidesWhetherDriftMakesThePairNotReady(t *testing.T) {
	tests := []struct {
		name  string
		allow []map[string]string
		ready bool
	}{
		{"an allowed difference leaves the pair ready", []map[string]string{{"kind": "map", "name": "Invoices*"}}, true},
		{"an unlisted one makes it not ready", []map[string]string{{"kind": "map", "name": "Orders*"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newMirrorStack(t, tt.allow, map[string]string{"DR_READINESS_EVERY": "1h"})
			if err := localstack.MakeDrift(d.arm); err != nil {
				t.Fatal(err)
			}
			// The operations timer keeps the readiness report, drift and all.
			if _, err := d.host.Timer(d.ctx, handlers.FnAdvanceOperations, time.Now(), hostsim.TimerStatus{Unmonitored: true}); err != nil {
				t.Fatal(err)
			}
			var st view.Status
			if err := json.Unmarshal(d.status("application/json").Body, &st); err != nil || len(st.Readiness) != 1 {
				t.Fatalf("status: %v %+v", err, st)
			}
			r := st.Readiness[0]
			if r.Ready != tt.ready || r.Drift == nil || r.Drift.Ready != tt.ready {
				t.Fatalf("ready %v (drift %+v), want %v; checks %+v", r.Ready, r.Drift, tt.ready, r.Checks)
			}
			var check view.Check
			for _, c := range r.Checks {
				if c.Name == "artifacts match" {
					check = c
				}
			}
			switch {
			case tt.ready && (check.Verdict != "pass" || r.Drift.Allowed != 1):
				t.Errorf("allowed: check %+v, drift %+v", check, r.Drift)
			case !tt.ready && (check.Verdict != "fail" || !strings.Contains(check.Why, "map "+localstack.DriftMap+": only on the active side")):
				t.Errorf("not allowed: the check does not name the artifact and what differs: %+v", check)
			}
		})
	}
}
