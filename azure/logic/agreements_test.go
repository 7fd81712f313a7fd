package logic_test

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
	"integration-dr/failover"
)

func newAgreements(t *testing.T, srv *fake.IntegrationAccountAgreementsServer) *logic.Agreements {
	t.Helper()
	return onFake(t, fake.NewIntegrationAccountAgreementsServerTransport(srv), func(c azcore.TokenCredential, o *arm.ClientOptions) (*logic.Agreements, error) {
		return logic.NewAgreements(accountID, c, o)
	})
}

// pages serves the agreements, one page per slice.
func pages(got *[2]string, pp ...[]*armlogic.IntegrationAccountAgreement) *fake.IntegrationAccountAgreementsServer {
	return &fake.IntegrationAccountAgreementsServer{
		NewListPager: func(group, acct string, _ *armlogic.IntegrationAccountAgreementsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountAgreementsClientListResponse]) {
			if got != nil {
				*got = [2]string{group, acct}
			}
			for _, p := range pp {
				resp.AddPage(http.StatusOK, armlogic.IntegrationAccountAgreementsClientListResponse{IntegrationAccountAgreementListResult: armlogic.IntegrationAccountAgreementListResult{Value: p}}, nil)
			}
			return
		},
	}
}

// x12 is an X12 agreement whose send and receive sides hold different ranges, so that
// a reader taking a range from the wrong side is caught.
func x12(name string) *armlogic.IntegrationAccountAgreement {
	return &armlogic.IntegrationAccountAgreement{Name: to.Ptr(name), Properties: &armlogic.IntegrationAccountAgreementProperties{
		AgreementType: to.Ptr(armlogic.AgreementTypeX12),
		Content: &armlogic.AgreementContent{X12: &armlogic.X12AgreementContent{
			SendAgreement: &armlogic.X12OneWayAgreement{ProtocolSettings: &armlogic.X12ProtocolSettings{
				EnvelopeSettings: &armlogic.X12EnvelopeSettings{
					InterchangeControlNumberLowerBound: to.Ptr[int32](10), InterchangeControlNumberUpperBound: to.Ptr[int32](999), RolloverInterchangeControlNumber: to.Ptr(true),
					GroupControlNumberLowerBound: to.Ptr[int32](20), GroupControlNumberUpperBound: to.Ptr[int32](888), RolloverGroupControlNumber: to.Ptr(false),
					TransactionSetControlNumberLowerBound: to.Ptr[int32](30), TransactionSetControlNumberUpperBound: to.Ptr[int32](777), // rollover flag not set
				},
				AcknowledgementSettings: &armlogic.X12AcknowledgementSettings{AcknowledgementControlNumberLowerBound: to.Ptr[int32](1), AcknowledgementControlNumberUpperBound: to.Ptr[int32](2), RolloverAcknowledgementControlNumber: to.Ptr(false)},
				ValidationSettings:      &armlogic.X12ValidationSettings{CheckDuplicateInterchangeControlNumber: to.Ptr(false), CheckDuplicateGroupControlNumber: to.Ptr(true), CheckDuplicateTransactionSetControlNumber: to.Ptr(true)},
			}},
			ReceiveAgreement: &armlogic.X12OneWayAgreement{ProtocolSettings: &armlogic.X12ProtocolSettings{
				EnvelopeSettings: &armlogic.X12EnvelopeSettings{
					InterchangeControlNumberLowerBound: to.Ptr[int32](1), InterchangeControlNumberUpperBound: to.Ptr[int32](999999999), RolloverInterchangeControlNumber: to.Ptr(false),
				},
				AcknowledgementSettings: &armlogic.X12AcknowledgementSettings{AcknowledgementControlNumberLowerBound: to.Ptr[int32](40), AcknowledgementControlNumberUpperBound: to.Ptr[int32](666), RolloverAcknowledgementControlNumber: to.Ptr(true)},
				ValidationSettings:      &armlogic.X12ValidationSettings{CheckDuplicateInterchangeControlNumber: to.Ptr(true), CheckDuplicateGroupControlNumber: to.Ptr(false), InterchangeControlNumberValidityDays: to.Ptr[int32](30)},
			}},
		}},
	}}
}

func edifact(name string) *armlogic.IntegrationAccountAgreement {
	return &armlogic.IntegrationAccountAgreement{Name: to.Ptr(name), Properties: &armlogic.IntegrationAccountAgreementProperties{
		AgreementType: to.Ptr(armlogic.AgreementTypeEdifact),
		Content: &armlogic.AgreementContent{Edifact: &armlogic.EdifactAgreementContent{
			SendAgreement: &armlogic.EdifactOneWayAgreement{ProtocolSettings: &armlogic.EdifactProtocolSettings{
				EnvelopeSettings: &armlogic.EdifactEnvelopeSettings{
					InterchangeControlNumberLowerBound: to.Ptr[int64](0), InterchangeControlNumberUpperBound: to.Ptr[int64](99_999_999_999_999), RolloverInterchangeControlNumber: to.Ptr(false),
					GroupControlNumberLowerBound: to.Ptr[int64](5), GroupControlNumberUpperBound: to.Ptr[int64](50), RolloverGroupControlNumber: to.Ptr(true),
					TransactionSetControlNumberLowerBound: to.Ptr[int64](7), TransactionSetControlNumberUpperBound: to.Ptr[int64](70), RolloverTransactionSetControlNumber: to.Ptr(true),
				},
			}},
			ReceiveAgreement: &armlogic.EdifactOneWayAgreement{ProtocolSettings: &armlogic.EdifactProtocolSettings{
				AcknowledgementSettings: &armlogic.EdifactAcknowledgementSettings{AcknowledgementControlNumberLowerBound: to.Ptr[int32](3), AcknowledgementControlNumberUpperBound: to.Ptr[int32](300), RolloverAcknowledgementControlNumber: to.Ptr(false)},
				ValidationSettings:      &armlogic.EdifactValidationSettings{CheckDuplicateInterchangeControlNumber: to.Ptr(true), CheckDuplicateGroupControlNumber: to.Ptr(true), CheckDuplicateTransactionSetControlNumber: to.Ptr(true)},
			}},
		}},
	}}
}

func byName(t *testing.T, infos []logic.AgreementInfo) map[string]logic.AgreementInfo {
	t.Helper()
	m := map[string]logic.AgreementInfo{}
	for _, i := range infos {
		if _, dup := m[i.Agreement.Name]; dup {
			t.Fatalf("agreement %s listed twice", i.Agreement.Name)
		}
		m[i.Agreement.Name] = i
	}
	return m
}

func TestX12BoundsComeFromTheSendSideAndDuplicateChecksFromTheReceiveSide(t *testing.T) {
	var got [2]string
	infos, err := newAgreements(t, pages(&got, []*armlogic.IntegrationAccountAgreement{x12("A-X12")})).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != [2]string{"b2b-westeurope", "contoso-ia-weu"} {
		t.Errorf("listed group/account %v", got)
	}
	if len(infos) != 1 {
		t.Fatalf("got %d agreements", len(infos))
	}
	i := infos[0]
	want := failover.Agreement{Name: "A-X12", Protocol: failover.X12, Bounds: map[failover.Level]failover.Bounds{
		failover.ICN:  {Lower: 10, Upper: 999, Rollover: true},
		failover.GCN:  {Lower: 20, Upper: 888, Rollover: false},
		failover.TSCN: {Lower: 30, Upper: 777, Rollover: false}, // absent flag: no rollover
		failover.Ack:  {Lower: 40, Upper: 666, Rollover: true},  // acknowledgements answer what is received
	}}
	if !reflect.DeepEqual(i.Agreement, want) {
		t.Errorf("agreement\n got %+v\nwant %+v", i.Agreement, want)
	}
	if !i.DuplicateChecks.Interchange || i.DuplicateChecks.Group || i.DuplicateChecks.TransactionSet || i.InterchangeValidityDays != 30 {
		t.Errorf("duplicate checks %+v, validity %d; want the receive side's: interchange only, 30 days", i.DuplicateChecks, i.InterchangeValidityDays)
	}
	// Every acknowledgement level falls back to the one acknowledgement range.
	if b, ok := i.Agreement.BoundsFor(failover.TSCNAck); !ok || b != want.Bounds[failover.Ack] {
		t.Errorf("BoundsFor(TSCNAck) = %+v, %v", b, ok)
	}
}

func TestEdifactBoundsAreInt64AndMapPerLevel(t *testing.T) {
	infos, err := newAgreements(t, pages(nil, []*armlogic.IntegrationAccountAgreement{edifact("B-EDI")})).List(context.Background())
	if err != nil || len(infos) != 1 {
		t.Fatalf("%v, %d agreements", err, len(infos))
	}
	i := infos[0]
	want := failover.Agreement{Name: "B-EDI", Protocol: failover.EDIFACT, Bounds: map[failover.Level]failover.Bounds{
		failover.ICN:  {Lower: 0, Upper: 99_999_999_999_999},
		failover.GCN:  {Lower: 5, Upper: 50, Rollover: true},
		failover.TSCN: {Lower: 7, Upper: 70, Rollover: true},
		failover.Ack:  {Lower: 3, Upper: 300},
	}}
	if !reflect.DeepEqual(i.Agreement, want) {
		t.Errorf("agreement\n got %+v\nwant %+v", i.Agreement, want)
	}
	if d := i.DuplicateChecks; !d.Interchange || !d.Group || !d.TransactionSet {
		t.Errorf("duplicate checks %+v, want all on", d)
	}
}

func TestMissingBoundsAreAbsentNotZero(t *testing.T) {
	ag := x12("C-X12")
	env := ag.Properties.Content.X12.SendAgreement.ProtocolSettings.EnvelopeSettings
	env.GroupControlNumberUpperBound = nil // half a range is no range
	env.TransactionSetControlNumberLowerBound = nil
	env.TransactionSetControlNumberUpperBound = nil
	ag.Properties.Content.X12.ReceiveAgreement.ProtocolSettings = nil // no ack range, no duplicate checks
	edi := edifact("D-EDI")
	edi.Properties.Content.Edifact.SendAgreement = nil
	infos, err := newAgreements(t, pages(nil, []*armlogic.IntegrationAccountAgreement{ag, edi})).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, infos)
	c := m["C-X12"]
	if len(c.Agreement.Bounds) != 1 || c.Agreement.Bounds[failover.ICN] != (failover.Bounds{Lower: 10, Upper: 999, Rollover: true}) {
		t.Errorf("C-X12 bounds %+v, want ICN only", c.Agreement.Bounds)
	}
	for _, l := range []failover.Level{failover.GCN, failover.TSCN, failover.Ack, failover.ICNAck} {
		if b, ok := c.Agreement.BoundsFor(l); ok {
			t.Errorf("C-X12 %v: %+v, want absent", l, b)
		}
	}
	if c.DuplicateChecks.Interchange || c.DuplicateChecks.Group || c.DuplicateChecks.TransactionSet {
		t.Errorf("C-X12 without receive settings reports duplicate checks %+v", c.DuplicateChecks)
	}
	d := m["D-EDI"]
	if _, ok := d.Agreement.Bounds[failover.ICN]; ok || len(d.Agreement.Bounds) != 1 || d.Agreement.Protocol != failover.EDIFACT {
		t.Errorf("D-EDI without send settings: %+v, want only the Ack range", d.Agreement)
	}
}

func TestAS2AndUntypedAgreements(t *testing.T) {
	as2 := &armlogic.IntegrationAccountAgreement{Name: to.Ptr("E-AS2"), Properties: &armlogic.IntegrationAccountAgreementProperties{
		AgreementType: to.Ptr(armlogic.AgreementTypeAS2),
		Content:       &armlogic.AgreementContent{AS2: &armlogic.AS2AgreementContent{}},
	}}
	untyped := x12("F-X12")
	untyped.Properties.AgreementType = to.Ptr(armlogic.AgreementTypeNotSpecified)
	bare := &armlogic.IntegrationAccountAgreement{Name: to.Ptr("G-bare")}
	nameless := x12("")
	nameless.Name = nil
	infos, err := newAgreements(t, pages(nil, []*armlogic.IntegrationAccountAgreement{as2, untyped, bare, nameless})).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, infos)
	if len(m) != 3 {
		t.Fatalf("listed %v, want the three named agreements", infos)
	}
	if e := m["E-AS2"]; e.Agreement.Protocol != failover.AS2 || len(e.Agreement.Bounds) != 0 || e.DuplicateChecks.Interchange {
		t.Errorf("AS2: %+v", e)
	}
	if f := m["F-X12"]; f.Agreement.Protocol != failover.X12 || len(f.Agreement.Bounds) != 4 {
		t.Errorf("untyped agreement with X12 content: %+v", f.Agreement)
	}
	if g := m["G-bare"]; g.Agreement.Protocol != failover.ProtocolUnknown || len(g.Agreement.Bounds) != 0 {
		t.Errorf("agreement without properties: %+v", g.Agreement)
	}
}

func TestListFollowsEveryPage(t *testing.T) {
	infos, err := newAgreements(t, pages(nil,
		[]*armlogic.IntegrationAccountAgreement{x12("P1-X12"), edifact("P1-EDI")},
		[]*armlogic.IntegrationAccountAgreement{x12("P2-X12")},
	)).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := byName(t, infos)
	for _, n := range []string{"P1-X12", "P1-EDI", "P2-X12"} {
		if _, ok := m[n]; !ok {
			t.Errorf("missing %s in %v", n, infos)
		}
	}
	if len(infos) != 3 {
		t.Errorf("listed %d, want 3", len(infos))
	}
}

func TestListErrorsNameTheAccount(t *testing.T) {
	srv := &fake.IntegrationAccountAgreementsServer{
		NewListPager: func(string, string, *armlogic.IntegrationAccountAgreementsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountAgreementsClientListResponse]) {
			resp.AddPage(http.StatusOK, armlogic.IntegrationAccountAgreementsClientListResponse{IntegrationAccountAgreementListResult: armlogic.IntegrationAccountAgreementListResult{
				Value: []*armlogic.IntegrationAccountAgreement{x12("ok")},
			}}, nil)
			resp.AddResponseError(http.StatusNotFound, "ResourceNotFound")
			return
		},
	}
	_, err := newAgreements(t, srv).List(context.Background())
	var de *drerr.Error
	if !drerr.Is(err, drerr.NotFound) || !errors.As(err, &de) || de.Op != "list agreements of contoso-ia-weu" {
		t.Fatalf("err %v (code %s), want not-found naming the account", err, drerr.CodeOf(err))
	}
}

func TestNewAgreementsRefusesWhatIsNotAnIntegrationAccount(t *testing.T) {
	for _, id := range []string{"", "not-an-id", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Logic/workflows/wf"} {
		if _, err := logic.NewAgreements(id, &azfake.TokenCredential{}, nil); !drerr.Is(err, drerr.Invalid) {
			t.Errorf("NewAgreements(%q): %v, want an invalid-input error", id, err)
		}
	}
}
