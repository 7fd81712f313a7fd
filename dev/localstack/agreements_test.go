package localstack_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/auth"
	"integration-dr/azure/logic"
	"integration-dr/config"
	"integration-dr/dev/armstandin"
	"integration-dr/dev/localstack"
	"integration-dr/drerr"
	"integration-dr/failover"
)

func standIn(t *testing.T) (*armstandin.Server, config.Azure) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := armstandin.New()
	srv.SetLimits(armstandin.ARMLimits(20))
	url, err := srv.Start(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	return srv, config.Azure{ARMEndpoint: url, Credential: config.CredentialLocal}
}

func TestAgreementBuildersRoundTripThroughTheAdapter(t *testing.T) {
	srv, cfg := standIn(t)
	cred, opts, err := auth.ARM(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	const group, acct = localstack.SecondaryGroup, localstack.SecondaryAcct
	seeded := localstack.SeedAgreements(srv, group, acct, 4)
	srv.PutAgreement(group, acct, localstack.X12Agreement("Tight-X12", 5, 500, false, false))
	srv.PutAgreement(group, acct, localstack.EdifactAgreement("Wide-EDIFACT", 0, 99_999_999_999_999, true, true))

	ags, err := logic.NewAgreements(localstack.AccountID(group, acct), cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	infos, err := ags.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]logic.AgreementInfo{}
	for _, i := range infos {
		got[i.Agreement.Name] = i
	}
	if len(got) != len(seeded)+2 {
		t.Fatalf("listed %d agreements, want %d: %v", len(got), len(seeded)+2, infos)
	}

	tight := got["Tight-X12"]
	if tight.Agreement.Protocol != failover.X12 {
		t.Errorf("Tight-X12 protocol %v", tight.Agreement.Protocol)
	}
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN, failover.Ack, failover.GCNAck} {
		if b, ok := tight.Agreement.BoundsFor(l); !ok || b != (failover.Bounds{Lower: 5, Upper: 500}) {
			t.Errorf("Tight-X12 %v: %+v, %v; want [5, 500] without rollover", l, b, ok)
		}
	}
	if d := tight.DuplicateChecks; d.Interchange || d.Group || d.TransactionSet {
		t.Errorf("Tight-X12 duplicate checks %+v, want off", d)
	}

	wide := got["Wide-EDIFACT"]
	if wide.Agreement.Protocol != failover.EDIFACT {
		t.Errorf("Wide-EDIFACT protocol %v", wide.Agreement.Protocol)
	}
	for _, l := range []failover.Level{failover.ICN, failover.GCN, failover.TSCN} {
		if b := wide.Agreement.Bounds[l]; b != (failover.Bounds{Lower: 0, Upper: 99_999_999_999_999, Rollover: true}) {
			t.Errorf("Wide-EDIFACT %v: %+v", l, b)
		}
	}
	if b := wide.Agreement.Bounds[failover.Ack]; b != (failover.Bounds{Lower: 0, Upper: 2147483647, Rollover: true}) {
		t.Errorf("Wide-EDIFACT Ack: %+v, want the range capped to int32", b)
	}
	if d := wide.DuplicateChecks; !d.Interchange || !d.Group || !d.TransactionSet || wide.InterchangeValidityDays != 30 {
		t.Errorf("Wide-EDIFACT duplicate checks %+v, validity %d", d, wide.InterchangeValidityDays)
	}

	var x12s, edis int
	for _, name := range seeded {
		i, ok := got[name]
		if !ok {
			t.Errorf("seeded %s not listed", name)
			continue
		}
		switch i.Agreement.Protocol {
		case failover.X12:
			x12s++
		case failover.EDIFACT:
			edis++
		}
		if len(i.Agreement.Bounds) != 4 || !i.DuplicateChecks.Interchange {
			t.Errorf("seeded %s: %+v", name, i)
		}
	}
	if x12s == 0 || edis == 0 || x12s+edis != len(seeded) {
		t.Errorf("seeded %d X12 and %d EDIFACT of %d", x12s, edis, len(seeded))
	}
	// What the stand-in serves passes the domain's own checks.
	var target []failover.Agreement
	for _, i := range infos {
		target = append(target, i.Agreement)
	}
	if r := failover.CheckAgreements(target, target); !r.Ready() {
		t.Errorf("CheckAgreements: %v", r.Reasons)
	}
}

func TestWorkflowsRoundTripThroughTheAdapter(t *testing.T) {
	srv, cfg := standIn(t)
	cred, opts, err := auth.ARM(cfg, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ids := localstack.Workflows(srv, localstack.PrimaryGroup, "x12-intake", "edifact-intake")
	if len(ids) != 2 {
		t.Fatalf("ids %v", ids)
	}
	w, err := logic.NewWorkflow(ids[0], cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := w.State(ctx); err != nil || st != logic.WorkflowEnabled {
		t.Fatalf("state %q, %v; want Enabled", st, err)
	}
	for range 2 {
		if err := w.Disable(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := srv.WorkflowState(localstack.PrimaryGroup, "x12-intake"); st != armlogic.WorkflowStateDisabled {
		t.Errorf("stand-in holds %s, want Disabled", st)
	}
	if st, _ := srv.WorkflowState(localstack.PrimaryGroup, "edifact-intake"); st != armlogic.WorkflowStateEnabled {
		t.Errorf("the other workflow is %s, want untouched", st)
	}
	if err := w.Enable(ctx); err != nil {
		t.Fatal(err)
	}
	if st, err := w.State(ctx); err != nil || st != logic.WorkflowEnabled {
		t.Fatalf("state %q, %v; want Enabled", st, err)
	}

	missing, err := logic.NewWorkflow(localstack.WorkflowID(localstack.PrimaryGroup, "nope"), cred, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := missing.Disable(ctx); !drerr.Is(err, drerr.NotFound) {
		t.Errorf("disable of a missing workflow: %v (code %s)", err, drerr.CodeOf(err))
	}
}
