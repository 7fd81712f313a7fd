package localstack

import (
	"fmt"
	"math"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/dev/armstandin"
)

// Defaults the portal gives a new agreement's ranges: X12 numbers are 9 digits; an
// EDIFACT counter is numeric within UNB5's 14 characters.
const (
	x12DefaultUpper     int32 = 999_999_999
	edifactDefaultUpper int64 = 99_999_999_999_999
)

// X12Agreement is an X12 agreement as the service holds it: a send and a receive
// one-way agreement, each with the settings the API requires. The send side's envelope
// ranges (ISA13, GS06, ST02) are [lower, upper] with rollover as given; the receive
// side's acknowledgement range (the numbers of the acknowledgements the host returns)
// is [lower, upper] too, and its validation settings check duplicate interchange,
// group and transaction set numbers when dupCheck is set. The other side's ranges keep
// the portal's defaults (1..999999999, rollover on), so a reader that takes a range
// from the wrong side is caught.
func X12Agreement(name string, lower, upper int32, rollover, dupCheck bool) armlogic.IntegrationAccountAgreement {
	host, guest := identities(name)
	oneWay := func(sender, receiver *armlogic.BusinessIdentity, sending bool) *armlogic.X12OneWayAgreement {
		envLo, envHi, envRoll := int32(1), x12DefaultUpper, true
		ackLo, ackHi, ackRoll := lower, upper, rollover
		if sending {
			envLo, envHi, envRoll = lower, upper, rollover
			ackLo, ackHi, ackRoll = 1, x12DefaultUpper, true
		}
		dup := dupCheck && !sending
		return &armlogic.X12OneWayAgreement{
			SenderBusinessIdentity:   sender,
			ReceiverBusinessIdentity: receiver,
			ProtocolSettings: &armlogic.X12ProtocolSettings{
				ValidationSettings: &armlogic.X12ValidationSettings{
					ValidateCharacterSet:                      to.Ptr(true),
					CheckDuplicateInterchangeControlNumber:    to.Ptr(dup),
					InterchangeControlNumberValidityDays:      to.Ptr[int32](30),
					CheckDuplicateGroupControlNumber:          to.Ptr(dup),
					CheckDuplicateTransactionSetControlNumber: to.Ptr(dup),
					ValidateEDITypes:                          to.Ptr(true),
					ValidateXSDTypes:                          to.Ptr(false),
					AllowLeadingAndTrailingSpacesAndZeroes:    to.Ptr(false),
					TrimLeadingAndTrailingSpacesAndZeroes:     to.Ptr(false),
					TrailingSeparatorPolicy:                   to.Ptr(armlogic.TrailingSeparatorPolicyNotAllowed),
				},
				FramingSettings: &armlogic.X12FramingSettings{
					DataElementSeparator:       to.Ptr[int32]('*'),
					ComponentSeparator:         to.Ptr[int32](':'),
					ReplaceSeparatorsInPayload: to.Ptr(false),
					ReplaceCharacter:           to.Ptr[int32]('$'),
					SegmentTerminator:          to.Ptr[int32]('~'),
					CharacterSet:               to.Ptr(armlogic.X12CharacterSetUTF8),
					SegmentTerminatorSuffix:    to.Ptr(armlogic.SegmentTerminatorSuffixNone),
				},
				EnvelopeSettings: &armlogic.X12EnvelopeSettings{
					ControlStandardsID:                           to.Ptr[int32]('U'),
					UseControlStandardsIDAsRepetitionCharacter:   to.Ptr(false),
					SenderApplicationID:                          to.Ptr(*sender.Value),
					ReceiverApplicationID:                        to.Ptr(*receiver.Value),
					ControlVersionNumber:                         to.Ptr("00401"),
					InterchangeControlNumberLowerBound:           to.Ptr(envLo),
					InterchangeControlNumberUpperBound:           to.Ptr(envHi),
					RolloverInterchangeControlNumber:             to.Ptr(envRoll),
					EnableDefaultGroupHeaders:                    to.Ptr(true),
					GroupControlNumberLowerBound:                 to.Ptr(envLo),
					GroupControlNumberUpperBound:                 to.Ptr(envHi),
					RolloverGroupControlNumber:                   to.Ptr(envRoll),
					GroupHeaderAgencyCode:                        to.Ptr("X"),
					GroupHeaderVersion:                           to.Ptr("00401"),
					TransactionSetControlNumberLowerBound:        to.Ptr(envLo),
					TransactionSetControlNumberUpperBound:        to.Ptr(envHi),
					RolloverTransactionSetControlNumber:          to.Ptr(envRoll),
					OverwriteExistingTransactionSetControlNumber: to.Ptr(true),
					GroupHeaderDateFormat:                        to.Ptr(armlogic.X12DateFormatCCYYMMDD),
					GroupHeaderTimeFormat:                        to.Ptr(armlogic.X12TimeFormatHHMM),
					UsageIndicator:                               to.Ptr(armlogic.UsageIndicatorProduction),
				},
				AcknowledgementSettings: &armlogic.X12AcknowledgementSettings{
					NeedTechnicalAcknowledgement:           to.Ptr(false),
					BatchTechnicalAcknowledgements:         to.Ptr(false),
					NeedFunctionalAcknowledgement:          to.Ptr(true),
					FunctionalAcknowledgementVersion:       to.Ptr("00401"),
					BatchFunctionalAcknowledgements:        to.Ptr(false),
					NeedImplementationAcknowledgement:      to.Ptr(false),
					BatchImplementationAcknowledgements:    to.Ptr(false),
					NeedLoopForValidMessages:               to.Ptr(false),
					SendSynchronousAcknowledgement:         to.Ptr(false),
					AcknowledgementControlNumberLowerBound: to.Ptr(ackLo),
					AcknowledgementControlNumberUpperBound: to.Ptr(ackHi),
					RolloverAcknowledgementControlNumber:   to.Ptr(ackRoll),
				},
				MessageFilter: &armlogic.X12MessageFilter{MessageFilterType: to.Ptr(armlogic.MessageFilterTypeExclude)},
				SecuritySettings: &armlogic.X12SecuritySettings{
					AuthorizationQualifier: to.Ptr("00"),
					SecurityQualifier:      to.Ptr("00"),
				},
				ProcessingSettings: &armlogic.X12ProcessingSettings{
					MaskSecurityInfo:                        to.Ptr(true),
					ConvertImpliedDecimal:                   to.Ptr(true),
					PreserveInterchange:                     to.Ptr(false),
					SuspendInterchangeOnError:               to.Ptr(false),
					CreateEmptyXMLTagsForTrailingSeparators: to.Ptr(true),
					UseDotAsDecimalSeparator:                to.Ptr(true),
				},
				SchemaReferences: []*armlogic.X12SchemaReference{},
			},
		}
	}
	ag := agreementShell(name, armlogic.AgreementTypeX12, host, guest)
	ag.Properties.Content = &armlogic.AgreementContent{X12: &armlogic.X12AgreementContent{
		SendAgreement:    oneWay(host, guest, true),
		ReceiveAgreement: oneWay(guest, host, false),
	}}
	return ag
}

// EdifactAgreement is X12Agreement for EDIFACT: UNB5, UNG5 and UNH1 ranges on the send
// side, the acknowledgement (CONTRL) range and the duplicate checks on the receive
// side. The acknowledgement range is an int32 in the API: upper is capped to fit.
func EdifactAgreement(name string, lower, upper int64, rollover, dupCheck bool) armlogic.IntegrationAccountAgreement {
	host, guest := identities(name)
	ackLower, ackUpper := int32(min(lower, math.MaxInt32)), int32(min(upper, math.MaxInt32))
	oneWay := func(sender, receiver *armlogic.BusinessIdentity, sending bool) *armlogic.EdifactOneWayAgreement {
		envLo, envHi, envRoll := int64(1), edifactDefaultUpper, true
		ackLo, ackHi, ackRoll := ackLower, ackUpper, rollover
		if sending {
			envLo, envHi, envRoll = lower, upper, rollover
			ackLo, ackHi, ackRoll = 1, x12DefaultUpper, true
		}
		dup := dupCheck && !sending
		return &armlogic.EdifactOneWayAgreement{
			SenderBusinessIdentity:   sender,
			ReceiverBusinessIdentity: receiver,
			ProtocolSettings: &armlogic.EdifactProtocolSettings{
				ValidationSettings: &armlogic.EdifactValidationSettings{
					ValidateCharacterSet:                      to.Ptr(true),
					CheckDuplicateInterchangeControlNumber:    to.Ptr(dup),
					InterchangeControlNumberValidityDays:      to.Ptr[int32](30),
					CheckDuplicateGroupControlNumber:          to.Ptr(dup),
					CheckDuplicateTransactionSetControlNumber: to.Ptr(dup),
					ValidateEDITypes:                          to.Ptr(true),
					ValidateXSDTypes:                          to.Ptr(false),
					AllowLeadingAndTrailingSpacesAndZeroes:    to.Ptr(false),
					TrimLeadingAndTrailingSpacesAndZeroes:     to.Ptr(false),
					TrailingSeparatorPolicy:                   to.Ptr(armlogic.TrailingSeparatorPolicyNotAllowed),
				},
				FramingSettings: &armlogic.EdifactFramingSettings{
					ServiceCodeListDirectoryVersion: to.Ptr(""),
					CharacterEncoding:               to.Ptr(""),
					ProtocolVersion:                 to.Ptr[int32](4),
					DataElementSeparator:            to.Ptr[int32]('+'),
					ComponentSeparator:              to.Ptr[int32](':'),
					SegmentTerminator:               to.Ptr[int32]('\''),
					ReleaseIndicator:                to.Ptr[int32]('?'),
					RepetitionSeparator:             to.Ptr[int32]('*'),
					CharacterSet:                    to.Ptr(armlogic.EdifactCharacterSetUNOC),
					DecimalPointIndicator:           to.Ptr(armlogic.EdifactDecimalIndicatorComma),
					SegmentTerminatorSuffix:         to.Ptr(armlogic.SegmentTerminatorSuffixNone),
				},
				EnvelopeSettings: &armlogic.EdifactEnvelopeSettings{
					ApplyDelimiterStringAdvice:                   to.Ptr(false),
					CreateGroupingSegments:                       to.Ptr(false),
					EnableDefaultGroupHeaders:                    to.Ptr(true),
					IsTestInterchange:                            to.Ptr(false),
					InterchangeControlNumberLowerBound:           to.Ptr(envLo),
					InterchangeControlNumberUpperBound:           to.Ptr(envHi),
					RolloverInterchangeControlNumber:             to.Ptr(envRoll),
					GroupControlNumberLowerBound:                 to.Ptr(envLo),
					GroupControlNumberUpperBound:                 to.Ptr(envHi),
					RolloverGroupControlNumber:                   to.Ptr(envRoll),
					TransactionSetControlNumberLowerBound:        to.Ptr(envLo),
					TransactionSetControlNumberUpperBound:        to.Ptr(envHi),
					RolloverTransactionSetControlNumber:          to.Ptr(envRoll),
					OverwriteExistingTransactionSetControlNumber: to.Ptr(true),
				},
				AcknowledgementSettings: &armlogic.EdifactAcknowledgementSettings{
					NeedTechnicalAcknowledgement:           to.Ptr(false),
					BatchTechnicalAcknowledgements:         to.Ptr(false),
					NeedFunctionalAcknowledgement:          to.Ptr(true),
					BatchFunctionalAcknowledgements:        to.Ptr(false),
					NeedLoopForValidMessages:               to.Ptr(false),
					SendSynchronousAcknowledgement:         to.Ptr(false),
					AcknowledgementControlNumberLowerBound: to.Ptr(ackLo),
					AcknowledgementControlNumberUpperBound: to.Ptr(ackHi),
					RolloverAcknowledgementControlNumber:   to.Ptr(ackRoll),
				},
				MessageFilter: &armlogic.EdifactMessageFilter{MessageFilterType: to.Ptr(armlogic.MessageFilterTypeExclude)},
				ProcessingSettings: &armlogic.EdifactProcessingSettings{
					MaskSecurityInfo:                        to.Ptr(true),
					PreserveInterchange:                     to.Ptr(false),
					SuspendInterchangeOnError:               to.Ptr(false),
					CreateEmptyXMLTagsForTrailingSeparators: to.Ptr(true),
					UseDotAsDecimalSeparator:                to.Ptr(true),
				},
				SchemaReferences: []*armlogic.EdifactSchemaReference{},
			},
		}
	}
	ag := agreementShell(name, armlogic.AgreementTypeEdifact, host, guest)
	ag.Properties.Content = &armlogic.AgreementContent{Edifact: &armlogic.EdifactAgreementContent{
		SendAgreement:    oneWay(host, guest, true),
		ReceiveAgreement: oneWay(guest, host, false),
	}}
	return ag
}

func identities(guest string) (host, partner *armlogic.BusinessIdentity) {
	return &armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr("CONTOSO")},
		&armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr(guest)}
}

func agreementShell(name string, typ armlogic.AgreementType, host, guest *armlogic.BusinessIdentity) armlogic.IntegrationAccountAgreement {
	return armlogic.IntegrationAccountAgreement{
		Name: to.Ptr(name),
		Type: to.Ptr("Microsoft.Logic/integrationAccounts/agreements"),
		Properties: &armlogic.IntegrationAccountAgreementProperties{
			AgreementType: to.Ptr(typ),
			HostPartner:   to.Ptr("Contoso"),
			GuestPartner:  to.Ptr(name),
			HostIdentity:  host,
			GuestIdentity: guest,
		},
	}
}

// SeedAgreements puts n agreements on an account, X12 and EDIFACT in turn, every one
// with the receive side's duplicate checks on; rollover is on for every other pair of
// them, and the ranges differ per agreement. It returns their names.
func SeedAgreements(arm *armstandin.Server, group, acct string, n int) []string {
	names := make([]string, 0, n)
	for i := range n {
		rollover := i/2%2 == 0
		var ag armlogic.IntegrationAccountAgreement
		if i%2 == 0 {
			name := fmt.Sprintf("Fabrikam-Partner%02d-X12", i+1)
			ag = X12Agreement(name, int32(i+1), x12DefaultUpper-int32(i), rollover, true)
		} else {
			name := fmt.Sprintf("Fabrikam-Partner%02d-EDIFACT", i+1)
			ag = EdifactAgreement(name, int64(i+1), edifactDefaultUpper-int64(i), rollover, true)
		}
		arm.PutAgreement(group, acct, ag)
		names = append(names, *ag.Name)
	}
	return names
}

// WorkflowID is the ARM resource ID of a Logic Apps workflow.
func WorkflowID(group, name string) string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Logic/workflows/%s", Subscription, group, name)
}

// Workflows creates enabled workflows in a resource group and returns their resource
// IDs.
func Workflows(arm *armstandin.Server, group string, names ...string) []string {
	ids := make([]string, 0, len(names))
	for _, name := range names {
		arm.PutWorkflow(group, name, armlogic.WorkflowStateEnabled)
		ids = append(ids, WorkflowID(group, name))
	}
	return ids
}
