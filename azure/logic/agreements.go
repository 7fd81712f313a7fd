package logic

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/failover"
)

// Agreements reads one integration account's trading agreements.
type Agreements struct {
	client *armlogic.IntegrationAccountAgreementsClient
	group  string
	name   string
}

// AgreementInfo is what failover needs to know of one agreement: its name, protocol and
// the ranges of the numbers the account generates under it, and whether the account
// refuses duplicate numbers it receives under it.
type AgreementInfo struct {
	Agreement failover.Agreement
	// DuplicateChecks are the receive side's "Disallow ... control number duplicates"
	// settings (ValidationSettings.CheckDuplicate...). All false for AS2, and where the
	// agreement holds no receive settings.
	DuplicateChecks struct{ Interchange, Group, TransactionSet bool }
	// InterchangeValidityDays is how long the receive side remembers interchange
	// numbers for its duplicate check (ValidationSettings.InterchangeControlNumberValidityDays);
	// 0 when not set.
	InterchangeValidityDays int32
}

// NewAgreements returns the agreements of the integration account named by its ARM
// resource ID.
func NewAgreements(resourceID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Agreements, error) {
	id, err := ParseID(resourceID)
	if err != nil {
		return nil, err
	}
	c, err := armlogic.NewIntegrationAccountAgreementsClient(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, "integration account agreements client", err)
	}
	return &Agreements{client: c, group: id.ResourceGroupName, name: id.Name}, nil
}

// List reads every agreement of the account, following every page. Agreements
// without a name are left out.
func (a *Agreements) List(ctx context.Context) ([]AgreementInfo, error) {
	var out []AgreementInfo
	pager := a.client.NewListPager(a.group, a.name, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, azerr.Wrap("list agreements of "+a.name, err)
		}
		for _, ag := range page.Value {
			if info, ok := AgreementFromARM(ag); ok {
				out = append(out, info)
			}
		}
	}
	return out, nil
}

// AgreementFromARM maps an ARM agreement to its domain form; ok is false for an
// agreement without a name.
//
// Which side governs what: an account generates interchange, group and transaction set
// numbers for the messages it sends to the partner, so their ranges come from the
// SendAgreement's EnvelopeSettings. It generates acknowledgement numbers for the
// acknowledgements (997/999, CONTRL) it returns for messages it receives, so that range
// comes from the ReceiveAgreement's AcknowledgementSettings (BizTalk, where these
// settings come from, lists the acknowledgement control number among the receiver's
// settings; the send side's acknowledgement settings describe what the host expects
// back from the partner). The duplicate checks protect what the account receives: they
// come from the ReceiveAgreement's ValidationSettings, which the Microsoft DR guide asks
// to enable in the agreement's Receive Settings.
//
// A level is in Bounds only when its lower and upper bound are both set: a missing
// bound is absent, never zero. A missing rollover flag is false, which makes failover
// refuse rather than wrap. The one acknowledgement range maps to failover.Ack, which
// failover.Agreement.BoundsFor uses for every acknowledgement level.
func AgreementFromARM(ag *armlogic.IntegrationAccountAgreement) (AgreementInfo, bool) {
	if ag == nil || ag.Name == nil || *ag.Name == "" {
		return AgreementInfo{}, false
	}
	info := AgreementInfo{Agreement: failover.Agreement{Name: *ag.Name, Bounds: map[failover.Level]failover.Bounds{}}}
	var content *armlogic.AgreementContent
	var typ armlogic.AgreementType
	if p := ag.Properties; p != nil {
		content = p.Content
		if p.AgreementType != nil {
			typ = *p.AgreementType
		}
	}
	if content == nil {
		content = &armlogic.AgreementContent{}
	}
	info.Agreement.Protocol = protocolOf(typ, content)
	switch info.Agreement.Protocol {
	case failover.X12:
		if c := content.X12; c != nil {
			mapX12(&info, c)
		}
	case failover.EDIFACT:
		if c := content.Edifact; c != nil {
			mapEdifact(&info, c)
		}
	}
	return info, true
}

// protocolOf reads the agreement type, and the content where the type is missing or
// NotSpecified.
func protocolOf(typ armlogic.AgreementType, c *armlogic.AgreementContent) failover.Protocol {
	if p, ok := failover.ParseProtocol(string(typ)); ok {
		return p
	}
	switch {
	case c.X12 != nil && c.Edifact == nil && c.AS2 == nil:
		return failover.X12
	case c.Edifact != nil && c.X12 == nil && c.AS2 == nil:
		return failover.EDIFACT
	case c.AS2 != nil && c.X12 == nil && c.Edifact == nil:
		return failover.AS2
	}
	return failover.ProtocolUnknown
}

func mapX12(info *AgreementInfo, c *armlogic.X12AgreementContent) {
	b := info.Agreement.Bounds
	if s := c.SendAgreement; s != nil && s.ProtocolSettings != nil {
		if e := s.ProtocolSettings.EnvelopeSettings; e != nil {
			setBounds(b, failover.ICN, i32(e.InterchangeControlNumberLowerBound), i32(e.InterchangeControlNumberUpperBound), e.RolloverInterchangeControlNumber)
			setBounds(b, failover.GCN, i32(e.GroupControlNumberLowerBound), i32(e.GroupControlNumberUpperBound), e.RolloverGroupControlNumber)
			setBounds(b, failover.TSCN, i32(e.TransactionSetControlNumberLowerBound), i32(e.TransactionSetControlNumberUpperBound), e.RolloverTransactionSetControlNumber)
		}
	}
	if r := c.ReceiveAgreement; r != nil && r.ProtocolSettings != nil {
		if k := r.ProtocolSettings.AcknowledgementSettings; k != nil {
			setBounds(b, failover.Ack, i32(k.AcknowledgementControlNumberLowerBound), i32(k.AcknowledgementControlNumberUpperBound), k.RolloverAcknowledgementControlNumber)
		}
		if v := r.ProtocolSettings.ValidationSettings; v != nil {
			info.DuplicateChecks.Interchange = flag(v.CheckDuplicateInterchangeControlNumber)
			info.DuplicateChecks.Group = flag(v.CheckDuplicateGroupControlNumber)
			info.DuplicateChecks.TransactionSet = flag(v.CheckDuplicateTransactionSetControlNumber)
			if v.InterchangeControlNumberValidityDays != nil {
				info.InterchangeValidityDays = *v.InterchangeControlNumberValidityDays
			}
		}
	}
}

func mapEdifact(info *AgreementInfo, c *armlogic.EdifactAgreementContent) {
	b := info.Agreement.Bounds
	if s := c.SendAgreement; s != nil && s.ProtocolSettings != nil {
		if e := s.ProtocolSettings.EnvelopeSettings; e != nil {
			setBounds(b, failover.ICN, e.InterchangeControlNumberLowerBound, e.InterchangeControlNumberUpperBound, e.RolloverInterchangeControlNumber)
			setBounds(b, failover.GCN, e.GroupControlNumberLowerBound, e.GroupControlNumberUpperBound, e.RolloverGroupControlNumber)
			setBounds(b, failover.TSCN, e.TransactionSetControlNumberLowerBound, e.TransactionSetControlNumberUpperBound, e.RolloverTransactionSetControlNumber)
		}
	}
	if r := c.ReceiveAgreement; r != nil && r.ProtocolSettings != nil {
		if k := r.ProtocolSettings.AcknowledgementSettings; k != nil {
			setBounds(b, failover.Ack, i32(k.AcknowledgementControlNumberLowerBound), i32(k.AcknowledgementControlNumberUpperBound), k.RolloverAcknowledgementControlNumber)
		}
		if v := r.ProtocolSettings.ValidationSettings; v != nil {
			info.DuplicateChecks.Interchange = flag(v.CheckDuplicateInterchangeControlNumber)
			info.DuplicateChecks.Group = flag(v.CheckDuplicateGroupControlNumber)
			info.DuplicateChecks.TransactionSet = flag(v.CheckDuplicateTransactionSetControlNumber)
			if v.InterchangeControlNumberValidityDays != nil {
				info.InterchangeValidityDays = *v.InterchangeControlNumberValidityDays
			}
		}
	}
}

// setBounds records a level's range only when both bounds are present.
func setBounds(b map[failover.Level]failover.Bounds, l failover.Level, lower, upper *int64, rollover *bool) {
	if lower == nil || upper == nil {
		return
	}
	b[l] = failover.Bounds{Lower: *lower, Upper: *upper, Rollover: flag(rollover)}
}

func i32(p *int32) *int64 {
	if p == nil {
		return nil
	}
	v := int64(*p)
	return &v
}

func flag(p *bool) bool { return p != nil && *p }

// Agreements lists the account's agreements as failover plans see them: bounds per
// level, and whether received interchange numbers are checked for duplicates.
func (a *Agreements) Agreements(ctx context.Context) ([]failover.AgreementState, error) {
	infos, err := a.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]failover.AgreementState, len(infos))
	for i, info := range infos {
		out[i] = failover.AgreementState{Agreement: info.Agreement, DuplicateChecks: info.DuplicateChecks.Interchange}
	}
	return out, nil
}
