package localstack

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/dev/armstandin"
	"integration-dr/session"
)

// The demo topology: one pair, West Europe primary, North Europe secondary.
const (
	Subscription   = "00000000-0000-0000-0000-000000000001"
	PairName       = "contoso-b2b"
	PrimaryGroup   = "b2b-westeurope"
	PrimaryAcct    = "contoso-ia-weu"
	SecondaryGroup = "b2b-northeurope"
	SecondaryAcct  = "contoso-ia-neu"
)

// AccountID is the ARM resource ID of an integration account.
func AccountID(group, acct string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Logic/integrationAccounts/%s", Subscription, group, acct)
}

// Topology is the DR_TOPOLOGY setting for the demo pair.
func Topology(overlap time.Duration) string {
	b, _ := json.Marshal(map[string]any{"pairs": []map[string]any{{
		"name": PairName, "primary": AccountID(PrimaryGroup, PrimaryAcct), "secondary": AccountID(SecondaryGroup, SecondaryAcct),
		"overlap": overlap.String(),
	}}})
	return string(b)
}

// HandlerEnv is the handler's app settings against the local stack.
func HandlerEnv(tableConn, armURL string, overlap time.Duration) map[string]string {
	return map[string]string{
		"AzureWebJobsStorage": tableConn,
		"DR_TOPOLOGY":         Topology(overlap),
		"DR_ARM_ENDPOINT":     armURL,
		"DR_CREDENTIAL":       "local-static-token",
		// One machine, one clock: the stand-in's front end and its accounts agree
		// unless a test skews an account, and leases here are seconds long.
		"DR_CLOCK_SKEW": "1s",
	}
}

// Agreement is a seeded trading agreement and the sessions it owns.
type Agreement struct {
	Name     string
	Protocol string // X12, EDIFACT or AS2
}

// Generated returns the names of the generated control number sessions of a.
func (a Agreement) Generated() []string {
	if a.Protocol == "AS2" {
		return nil
	}
	return []string{a.Name + "-Icn", a.Name + "-Gcn", a.Name + "-Tscn"}
}

// Seed puts n agreements (X12, EDIFACT and AS2 in turn) on both accounts, and their
// starting sessions on the primary only: what a pair looks like before its first sync.
func Seed(srv *armstandin.Server, n int, start time.Time) []Agreement {
	protocols := []string{"X12", "EDIFACT", "AS2"}
	var out []Agreement
	for i := range n {
		a := Agreement{Name: fmt.Sprintf("Contoso-Partner%02d-%s", i+1, protocols[i%3]), Protocol: protocols[i%3]}
		out = append(out, a)
		for _, side := range [][2]string{{PrimaryGroup, PrimaryAcct}, {SecondaryGroup, SecondaryAcct}} {
			srv.PutAgreement(side[0], side[1], agreement(a))
		}
		for j, name := range a.Generated() {
			srv.PutSession(PrimaryGroup, PrimaryAcct, name, ControlNumber(a.Protocol, int64(100*(i+1)+j), start))
		}
	}
	return out
}

// agreement is a's agreement as the service holds it: X12 and EDIFACT with the
// portal's default ranges (rollover on) and duplicate checks on receive.
func agreement(a Agreement) armlogic.IntegrationAccountAgreement {
	switch a.Protocol {
	case "X12":
		return X12Agreement(a.Name, 1, x12DefaultUpper, true, true)
	case "EDIFACT":
		return EdifactAgreement(a.Name, 1, edifactDefaultUpper, true, true)
	}
	return armlogic.IntegrationAccountAgreement{
		Name: to.Ptr(a.Name),
		Type: to.Ptr("Microsoft.Logic/integrationAccounts/agreements"),
		Properties: &armlogic.IntegrationAccountAgreementProperties{
			AgreementType: to.Ptr(armlogic.AgreementTypeAS2),
			HostPartner:   to.Ptr("Contoso"),
			GuestPartner:  to.Ptr(a.Name),
			HostIdentity:  &armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr("CONTOSO")},
			GuestIdentity: &armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr(a.Name)},
			Content:       &armlogic.AgreementContent{},
		},
	}
}

// ControlNumber is a control number session's content, as the B2B connectors write it.
func ControlNumber(protocol string, n int64, changed time.Time) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"ControlNumber":             strconv.FormatInt(n, 10),
		"ControlNumberChangedTime":  changed.UTC().Format(time.RFC3339Nano),
		"IsMessageProcessingFailed": false,
		"MessageType":               protocol,
	})
	return b
}

// MIC is an AS2 MIC record's content.
func MIC(agreement string, id int64, changed time.Time) json.RawMessage {
	b, _ := json.Marshal(map[string]any{
		"AgreementName": agreement, "MessageId": fmt.Sprintf("<%d@contoso.example>", id),
		"MicValue": fmt.Sprintf("mic-%d", id), "MicHashAlgorithm": "SHA2256",
		"MicChangedTime": changed.UTC().Format(time.RFC3339Nano), "As2From": "Contoso", "As2To": agreement,
	})
	return b
}

// Traffic imitates partner traffic on the active account: generated numbers step up,
// received numbers and AS2 MIC records appear. It is safe for concurrent use.
type Traffic struct {
	mu     sync.Mutex
	rng    *rand.Rand
	agr    []Agreement
	next   map[string]int64
	seq    int64
	put    func(name string, content json.RawMessage) error
	counts map[string]int
}

// NewTraffic returns traffic over the agreements, writing through put.
func NewTraffic(agr []Agreement, seed uint64, put func(name string, content json.RawMessage) error) *Traffic {
	t := &Traffic{rng: rand.New(rand.NewPCG(seed, seed+1)), agr: agr, next: map[string]int64{}, put: put, counts: map[string]int{}}
	for i, a := range agr {
		for j, name := range a.Generated() {
			t.next[name] = int64(100*(i+1) + j)
		}
	}
	return t
}

// Step makes one change: mostly a generated number, sometimes a received number or
// an AS2 MIC record.
func (t *Traffic) Step(now time.Time) error {
	t.mu.Lock()
	a := t.agr[t.rng.IntN(len(t.agr))]
	t.seq++
	var name string
	var content json.RawMessage
	switch roll := t.rng.IntN(10); {
	case a.Protocol == "AS2":
		name, content = fmt.Sprintf("%s-MIC-%06d", a.Name, t.seq), MIC(a.Name, t.seq, now)
		t.counts["as2mic"]++
	case roll < 7:
		gen := a.Generated()
		name = gen[t.rng.IntN(len(gen))]
		t.next[name]++
		content = ControlNumber(a.Protocol, t.next[name], now)
		t.counts["generated"]++
	default:
		prefix := map[string]string{"X12": "X12-ICN-", "EDIFACT": "Edifact-ICN-"}[a.Protocol]
		name = fmt.Sprintf("%s%s-%09d", prefix, a.Name, t.seq)
		content = ControlNumber(a.Protocol, t.seq, now)
		t.counts["received"]++
	}
	t.mu.Unlock()
	return t.put(name, content)
}

// AtRate calls step perSecond times a second until ctx ends.
func AtRate(ctx context.Context, perSecond float64, step func()) {
	t := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			step()
		}
	}
}

// Differences lists the sessions on which standby does not hold active's content:
// missing, different, or present on the standby only.
func Differences(active, standby map[string]json.RawMessage) []string {
	var out []string
	for name, c := range active {
		if got, ok := standby[name]; !ok {
			out = append(out, name+": missing")
		} else if !session.EqualContent(c, got) {
			out = append(out, name+": "+string(got)+" != "+string(c))
		}
	}
	for name := range standby {
		if _, ok := active[name]; !ok {
			out = append(out, name+": only on the standby")
		}
	}
	return out
}
