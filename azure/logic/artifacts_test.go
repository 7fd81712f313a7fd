package logic_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"

	"integration-dr/azure/logic"
	"integration-dr/drerr"
	"integration-dr/drift"
)

// sig is the signature of every content link the fake hands out: it must reach no
// Fields, Body or error.
const sig = "c2VjcmV0LXNhcy1zaWduYXR1cmU"

// table is one kind of artifact in a fake account, by lower-case name.
type table[T any] struct {
	items map[string]T
	names map[string]string // lower → as written
}

func newTable[T any]() *table[T] { return &table[T]{items: map[string]T{}, names: map[string]string{}} }

func (t *table[T]) put(name string, v T) (created bool) {
	k := strings.ToLower(name)
	_, had := t.items[k]
	t.items[k], t.names[k] = v, name
	return !had
}

func (t *table[T]) del(name string) bool {
	k := strings.ToLower(name)
	_, had := t.items[k]
	delete(t.items, k)
	return had
}

// pages returns the items in name order, two to a page.
func (t *table[T]) pages() [][]*T {
	keys := slices.Sorted(maps.Keys(t.items))
	var out [][]*T
	for i := 0; i < len(keys); i += 2 {
		var page []*T
		for _, k := range keys[i:min(i+2, len(keys))] {
			v := t.items[k]
			page = append(page, &v)
		}
		out = append(out, page)
	}
	return out
}

// account is a fake integration account: ARM answers through the SDK's fakes, and
// content links on a storage host. Like the service, it keeps a schema's or map's
// content behind a content link rather than inline.
type account struct {
	partners   *table[armlogic.IntegrationAccountPartner]
	agreements *table[armlogic.IntegrationAccountAgreement]
	schemas    *table[armlogic.IntegrationAccountSchema]
	maps       *table[armlogic.IntegrationAccountMap]
	certs      *table[armlogic.IntegrationAccountCertificate]
	batches    *table[armlogic.BatchConfiguration]
	content    map[string]string // by content path
	// noLink leaves content links out of listings, so that the adapter must ask for a
	// callback URL; callbacks counts those asked for.
	noLink    bool
	callbacks int
	// contentStatus, when set, is the content host's answer; contentDown makes it
	// refuse connections.
	contentStatus int
	contentDown   bool
	writes        []string // "put map m1", "delete schema s1"
}

func newFakeAccount() *account {
	return &account{
		partners: newTable[armlogic.IntegrationAccountPartner](), agreements: newTable[armlogic.IntegrationAccountAgreement](),
		schemas: newTable[armlogic.IntegrationAccountSchema](), maps: newTable[armlogic.IntegrationAccountMap](),
		certs: newTable[armlogic.IntegrationAccountCertificate](), batches: newTable[armlogic.BatchConfiguration](),
		content: map[string]string{},
	}
}

func contentURL(path string) string {
	return "https://prodcontent.blob.core.windows.net" + path + "?sv=2021-08-06&se=2030-01-01T00%3A00%3A00Z&sp=r&sig=" + sig
}

// link files content and returns the link the listing shows.
func (a *account) link(kind, name, content string) *armlogic.ContentLink {
	path := "/content/" + kind + "/" + strings.ToLower(name)
	a.content[path] = content
	if a.noLink {
		return nil
	}
	return &armlogic.ContentLink{URI: to.Ptr(contentURL(path)), ContentSize: to.Ptr(int64(len(content)))}
}

func (a *account) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != "prodcontent.blob.core.windows.net" {
		return nil, errors.New("not the content host")
	}
	if a.contentDown {
		return nil, &netErr{req.URL.String()}
	}
	if req.Header.Get("Authorization") != "" {
		return nil, errors.New("a bearer token went to the content host")
	}
	body, ok := a.content[req.URL.Path]
	status := http.StatusOK
	switch {
	case a.contentStatus != 0:
		status = a.contentStatus
	case !ok || req.URL.Query().Get("sig") != sig:
		status = http.StatusForbidden
	}
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}, Request: req}, nil
}

// netErr is a refused connection whose message quotes the URL, as net/http's do.
type netErr struct{ url string }

func (e *netErr) Error() string   { return "Get " + e.url + ": connection refused" }
func (e *netErr) Unwrap() error   { return syscall.ECONNREFUSED }
func (e *netErr) Timeout() bool   { return false }
func (e *netErr) Temporary() bool { return false }

func notFound(errResp *azfake.ErrorResponder) {
	errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (a *account) transport() policy.Transporter {
	arm := fake.NewServerFactoryTransport(&fake.ServerFactory{
		IntegrationAccountPartnersServer: fake.IntegrationAccountPartnersServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountPartnersClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountPartnersClientListResponse]) {
				for _, p := range a.partners.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountPartnersClientListResponse{IntegrationAccountPartnerListResult: armlogic.IntegrationAccountPartnerListResult{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.IntegrationAccountPartner, _ *armlogic.IntegrationAccountPartnersClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountPartnersClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				v.Name = to.Ptr(name)
				v.Properties.CreatedTime, v.Properties.ChangedTime = to.Ptr(time.Now()), to.Ptr(time.Now())
				a.writes = append(a.writes, "put partner "+name)
				resp.SetResponse(putStatus(a.partners.put(name, v)), armlogic.IntegrationAccountPartnersClientCreateOrUpdateResponse{IntegrationAccountPartner: v}, nil)
				return
			},
			Delete: func(_ context.Context, _, _, name string, _ *armlogic.IntegrationAccountPartnersClientDeleteOptions) (resp azfake.Responder[armlogic.IntegrationAccountPartnersClientDeleteResponse], errResp azfake.ErrorResponder) {
				if !a.partners.del(name) {
					notFound(&errResp)
					return
				}
				a.writes = append(a.writes, "delete partner "+name)
				resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountPartnersClientDeleteResponse{}, nil)
				return
			},
		},
		IntegrationAccountAgreementsServer: fake.IntegrationAccountAgreementsServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountAgreementsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountAgreementsClientListResponse]) {
				for _, p := range a.agreements.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountAgreementsClientListResponse{IntegrationAccountAgreementListResult: armlogic.IntegrationAccountAgreementListResult{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.IntegrationAccountAgreement, _ *armlogic.IntegrationAccountAgreementsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountAgreementsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				v.Name = to.Ptr(name)
				a.writes = append(a.writes, "put agreement "+name)
				resp.SetResponse(putStatus(a.agreements.put(name, v)), armlogic.IntegrationAccountAgreementsClientCreateOrUpdateResponse{IntegrationAccountAgreement: v}, nil)
				return
			},
		},
		IntegrationAccountSchemasServer: fake.IntegrationAccountSchemasServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountSchemasClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountSchemasClientListResponse]) {
				for _, p := range a.schemas.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountSchemasClientListResponse{IntegrationAccountSchemaListResult: armlogic.IntegrationAccountSchemaListResult{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.IntegrationAccountSchema, _ *armlogic.IntegrationAccountSchemasClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountSchemasClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				a.putSchema(name, v)
				a.writes = append(a.writes, "put schema "+name)
				resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountSchemasClientCreateOrUpdateResponse{}, nil)
				return
			},
			ListContentCallbackURL: func(_ context.Context, _, _, name string, _ armlogic.GetCallbackURLParameters, _ *armlogic.IntegrationAccountSchemasClientListContentCallbackURLOptions) (resp azfake.Responder[armlogic.IntegrationAccountSchemasClientListContentCallbackURLResponse], errResp azfake.ErrorResponder) {
				a.callbacks++
				resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountSchemasClientListContentCallbackURLResponse{WorkflowTriggerCallbackURL: armlogic.WorkflowTriggerCallbackURL{Value: to.Ptr(contentURL("/content/schema/" + strings.ToLower(name)))}}, nil)
				return
			},
		},
		IntegrationAccountMapsServer: fake.IntegrationAccountMapsServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountMapsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountMapsClientListResponse]) {
				for _, p := range a.maps.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountMapsClientListResponse{IntegrationAccountMapListResult: armlogic.IntegrationAccountMapListResult{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.IntegrationAccountMap, _ *armlogic.IntegrationAccountMapsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountMapsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				a.putMap(name, v)
				a.writes = append(a.writes, "put map "+name)
				resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountMapsClientCreateOrUpdateResponse{}, nil)
				return
			},
			Delete: func(_ context.Context, _, _, name string, _ *armlogic.IntegrationAccountMapsClientDeleteOptions) (resp azfake.Responder[armlogic.IntegrationAccountMapsClientDeleteResponse], errResp azfake.ErrorResponder) {
				if !a.maps.del(name) {
					notFound(&errResp)
					return
				}
				a.writes = append(a.writes, "delete map "+name)
				resp.SetResponse(http.StatusNoContent, armlogic.IntegrationAccountMapsClientDeleteResponse{}, nil)
				return
			},
			ListContentCallbackURL: func(_ context.Context, _, _, name string, _ armlogic.GetCallbackURLParameters, _ *armlogic.IntegrationAccountMapsClientListContentCallbackURLOptions) (resp azfake.Responder[armlogic.IntegrationAccountMapsClientListContentCallbackURLResponse], errResp azfake.ErrorResponder) {
				a.callbacks++
				resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountMapsClientListContentCallbackURLResponse{WorkflowTriggerCallbackURL: armlogic.WorkflowTriggerCallbackURL{Value: to.Ptr(contentURL("/content/map/" + strings.ToLower(name)))}}, nil)
				return
			},
		},
		IntegrationAccountCertificatesServer: fake.IntegrationAccountCertificatesServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountCertificatesClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountCertificatesClientListResponse]) {
				for _, p := range a.certs.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountCertificatesClientListResponse{IntegrationAccountCertificateListResult: armlogic.IntegrationAccountCertificateListResult{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.IntegrationAccountCertificate, _ *armlogic.IntegrationAccountCertificatesClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountCertificatesClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				v.Name = to.Ptr(name)
				a.writes = append(a.writes, "put certificate "+name)
				resp.SetResponse(putStatus(a.certs.put(name, v)), armlogic.IntegrationAccountCertificatesClientCreateOrUpdateResponse{IntegrationAccountCertificate: v}, nil)
				return
			},
		},
		IntegrationAccountBatchConfigurationsServer: fake.IntegrationAccountBatchConfigurationsServer{
			NewListPager: func(_, _ string, _ *armlogic.IntegrationAccountBatchConfigurationsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountBatchConfigurationsClientListResponse]) {
				for _, p := range a.batches.pages() {
					resp.AddPage(http.StatusOK, armlogic.IntegrationAccountBatchConfigurationsClientListResponse{BatchConfigurationCollection: armlogic.BatchConfigurationCollection{Value: p}}, nil)
				}
				return
			},
			CreateOrUpdate: func(_ context.Context, _, _, name string, v armlogic.BatchConfiguration, _ *armlogic.IntegrationAccountBatchConfigurationsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountBatchConfigurationsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
				v.Name = to.Ptr(name)
				a.writes = append(a.writes, "put batchConfiguration "+name)
				resp.SetResponse(putStatus(a.batches.put(name, v)), armlogic.IntegrationAccountBatchConfigurationsClientCreateOrUpdateResponse{BatchConfiguration: v}, nil)
				return
			},
		},
	})
	return transportFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Host == "prodcontent.blob.core.windows.net" {
			return a.RoundTrip(req)
		}
		return arm.Do(req)
	})
}

type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(req *http.Request) (*http.Response, error) { return f(req) }

// putSchema keeps the content behind a link, as the service does.
func (a *account) putSchema(name string, v armlogic.IntegrationAccountSchema) {
	p := *v.Properties
	p.ContentLink = a.link("schema", name, deref(p.Content))
	p.Content, p.CreatedTime, p.ChangedTime = nil, to.Ptr(time.Now()), to.Ptr(time.Now())
	a.schemas.put(name, armlogic.IntegrationAccountSchema{Name: to.Ptr(name), Properties: &p})
}

func (a *account) putMap(name string, v armlogic.IntegrationAccountMap) {
	p := *v.Properties
	p.ContentLink = a.link("map", name, deref(p.Content))
	p.Content, p.CreatedTime, p.ChangedTime = nil, to.Ptr(time.Now()), to.Ptr(time.Now())
	a.maps.put(name, armlogic.IntegrationAccountMap{Name: to.Ptr(name), Properties: &p})
}

func newArtifacts(t *testing.T, a *account) *logic.Artifacts {
	t.Helper()
	return onFake(t, a.transport(), func(c azcore.TokenCredential, o *arm.ClientOptions) (*logic.Artifacts, error) {
		return logic.NewArtifacts(accountID, c, o)
	})
}

// selfSigned is a public certificate as the API holds it: base64 DER.
func selfSigned(t *testing.T, cn string, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: notAfter.AddDate(-1, 0, 0), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

var expiry = time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

// certs are the public parts of the seeded certificates: a partner's and Contoso's own.
type certs struct{ partner, own string }

func newCerts(t *testing.T) certs {
	return certs{partner: selfSigned(t, "fabrikam.example", expiry), own: selfSigned(t, "contoso.example", expiry)}
}

// seed fills an account with one of each kind (three partners, so that they take two
// pages); vault is the Key Vault its keyed certificate refers to.
func seed(t *testing.T, a *account, vault string, pub certs) {
	t.Helper()
	for _, p := range []struct{ name, q, v string }{{"Contoso", "ZZ", "CONTOSO"}, {"Fabrikam", "ZZ", "FABRIKAM"}, {"Northwind", "01", "123456789"}} {
		a.partners.put(p.name, armlogic.IntegrationAccountPartner{Name: to.Ptr(p.name), Properties: &armlogic.IntegrationAccountPartnerProperties{
			PartnerType: to.Ptr(armlogic.PartnerTypeB2B), CreatedTime: to.Ptr(time.Now()),
			Content:  &armlogic.PartnerContent{B2B: &armlogic.B2BPartnerContent{BusinessIdentities: []*armlogic.BusinessIdentity{{Qualifier: to.Ptr("AS2Identity"), Value: to.Ptr(p.name)}, {Qualifier: to.Ptr(p.q), Value: to.Ptr(p.v)}}}},
			Metadata: map[string]any{"owner": "b2b-team"},
		}})
	}
	ag := x12("Contoso-Fabrikam-X12")
	ag.Properties.HostPartner, ag.Properties.GuestPartner = to.Ptr("Contoso"), to.Ptr("Fabrikam")
	ag.Properties.HostIdentity = &armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr("CONTOSO")}
	ag.Properties.GuestIdentity = &armlogic.BusinessIdentity{Qualifier: to.Ptr("ZZ"), Value: to.Ptr("FABRIKAM")}
	ag.Properties.ChangedTime = to.Ptr(time.Now())
	a.agreements.put(*ag.Name, *ag)
	a.putSchema("X12_00401_850", armlogic.IntegrationAccountSchema{Properties: &armlogic.IntegrationAccountSchemaProperties{
		SchemaType: to.Ptr(armlogic.SchemaTypeXML), Content: to.Ptr(`<xs:schema targetNamespace="http://schemas.microsoft.com/BizTalk/EDI/X12/2006"/>`),
		ContentType: to.Ptr("application/xml"), TargetNamespace: to.Ptr("http://schemas.microsoft.com/BizTalk/EDI/X12/2006"), DocumentName: to.Ptr("X12_00401_850"),
	}})
	a.putMap("OrdersToSAP", armlogic.IntegrationAccountMap{Properties: &armlogic.IntegrationAccountMapProperties{
		MapType: to.Ptr(armlogic.MapTypeXslt), Content: to.Ptr(`<xsl:stylesheet version="1.0"/>`), ContentType: to.Ptr("application/xml"),
	}})
	a.certs.put("partner-public", armlogic.IntegrationAccountCertificate{Name: to.Ptr("partner-public"), Properties: &armlogic.IntegrationAccountCertificateProperties{
		PublicCertificate: to.Ptr(pub.partner),
	}})
	a.certs.put("contoso-signing", armlogic.IntegrationAccountCertificate{Name: to.Ptr("contoso-signing"), Properties: &armlogic.IntegrationAccountCertificateProperties{
		PublicCertificate: to.Ptr(pub.own),
		Key:               &armlogic.KeyVaultKeyReference{KeyName: to.Ptr("contoso-as2"), KeyVersion: to.Ptr("v1"), KeyVault: &armlogic.KeyVaultKeyReferenceKeyVault{ID: to.Ptr(vault)}},
	}})
	a.batches.put("OrdersBatch", armlogic.BatchConfiguration{Name: to.Ptr("OrdersBatch"), Properties: &armlogic.BatchConfigurationProperties{
		BatchGroupName: to.Ptr("Orders"), CreatedTime: to.Ptr(time.Now()),
		ReleaseCriteria: &armlogic.BatchReleaseCriteria{MessageCount: to.Ptr[int32](100), Recurrence: &armlogic.WorkflowTriggerRecurrence{Frequency: to.Ptr(armlogic.RecurrenceFrequencyHour), Interval: to.Ptr[int32](1)}},
	}})
}

const (
	vaultWEU = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-westeurope/providers/Microsoft.KeyVault/vaults/kv-weu"
	vaultNEU = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/b2b-northeurope/providers/Microsoft.KeyVault/vaults/kv-neu"
)

func index(t *testing.T, arts []drift.Artifact) map[string]drift.Artifact {
	t.Helper()
	m := map[string]drift.Artifact{}
	for _, a := range arts {
		k := string(a.Kind) + "/" + a.Name
		if _, dup := m[k]; dup {
			t.Fatalf("%s listed twice", k)
		}
		m[k] = a
	}
	return m
}

func TestArtifactsReadTheSettingsThatMatterOfEveryKind(t *testing.T) {
	a := newFakeAccount()
	seed(t, a, vaultWEU, newCerts(t))
	arts, err := newArtifacts(t, a).Artifacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := index(t, arts)
	if len(got) != 3+1+1+1+2+1 {
		t.Fatalf("read %d artifacts, want 9 (every page of every kind): %v", len(got), slices.Collect(maps.Keys(got)))
	}
	tests := []struct {
		name   string
		key    string
		fields map[string]string // a subset the artifact must hold
		absent []string
	}{
		{name: "a partner by type and sorted identities", key: "partner/Northwind",
			fields: map[string]string{"partnerType": "B2B", "identities": "01:123456789, AS2Identity:Northwind", "metadata.owner": "b2b-team"}},
		{name: "a partner on the second page", key: "partner/Contoso", fields: map[string]string{"partnerType": "B2B"}},
		{name: "an agreement by protocol, parties and flattened settings", key: "agreement/Contoso-Fabrikam-X12", fields: map[string]string{
			"agreementType": "X12", "hostPartner": "Contoso", "guestPartner": "Fabrikam", "hostIdentity": "ZZ:CONTOSO", "guestIdentity": "ZZ:FABRIKAM",
			"content.x12.receiveAgreement.protocolSettings.validationSettings.checkDuplicateInterchangeControlNumber": "true",
			"content.x12.sendAgreement.protocolSettings.envelopeSettings.interchangeControlNumberUpperBound":          "999",
		}, absent: []string{"changedTime", "createdTime"}},
		{name: "a schema by type, namespace and content digest", key: "schema/X12_00401_850", fields: map[string]string{
			"schemaType": "Xml", "contentType": "application/xml", "targetNamespace": "http://schemas.microsoft.com/BizTalk/EDI/X12/2006",
			"content": drift.Digest([]byte(`<xs:schema targetNamespace="http://schemas.microsoft.com/BizTalk/EDI/X12/2006"/>`)),
		}},
		{name: "a map by type and content digest", key: "map/OrdersToSAP", fields: map[string]string{"mapType": "Xslt", "content": drift.Digest([]byte(`<xsl:stylesheet version="1.0"/>`))}},
		{name: "a public certificate by expiry, without a key", key: "certificate/partner-public", fields: map[string]string{
			"notAfter": "2031-03-01T12:00:00Z", "subject": "CN=fabrikam.example", "privateKey": "false",
		}, absent: []string{"key.keyName"}},
		{name: "a keyed certificate by key name, never its vault", key: "certificate/contoso-signing", fields: map[string]string{"privateKey": "true", "key.keyName": "contoso-as2"}},
		{name: "a batch configuration by group and release criteria", key: "batchConfiguration/OrdersBatch", fields: map[string]string{
			"batchGroupName": "Orders", "releaseCriteria.messageCount": "100", "releaseCriteria.recurrence.frequency": "Hour", "releaseCriteria.recurrence.interval": "1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			art, ok := got[tt.key]
			if !ok {
				t.Fatalf("%s not read", tt.key)
			}
			for k, v := range tt.fields {
				if art.Fields[k] != v {
					t.Errorf("%s = %q, want %q", k, art.Fields[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := art.Fields[k]; ok {
					t.Errorf("%s present: %q", k, art.Fields[k])
				}
			}
			for k, v := range art.Fields {
				if strings.Contains(v, "kv-weu") || strings.Contains(k, "keyVault") {
					t.Errorf("field %s = %q names the vault", k, v)
				}
			}
			for _, bad := range []string{sig, "contentLink", "createdTime", "changedTime", "kv-weu"} {
				if strings.Contains(string(art.Body), bad) {
					t.Errorf("body holds %q: %s", bad, art.Body)
				}
			}
		})
	}
}

func TestDifferencesBetweenAccountsNameWhatDiffers(t *testing.T) {
	tests := []struct {
		name   string
		change func(standby *account)
		want   []drift.Difference
	}{
		{name: "the same artifacts, keyed certificates in each region's own vault, make no difference", change: func(*account) {}},
		{name: "a map's content change is reported as content", change: func(s *account) {
			s.putMap("OrdersToSAP", armlogic.IntegrationAccountMap{Properties: &armlogic.IntegrationAccountMapProperties{
				MapType: to.Ptr(armlogic.MapTypeXslt), Content: to.Ptr(`<xsl:stylesheet version="2.0"/>`), ContentType: to.Ptr("application/xml"),
			}})
		}, want: []drift.Difference{{Kind: drift.Map, Name: "OrdersToSAP", Change: drift.Update, Fields: []string{"content"}}}},
		{name: "a renewed certificate is reported by digest and expiry", change: func(s *account) {
			c := s.certs.items["partner-public"]
			c.Properties = &armlogic.IntegrationAccountCertificateProperties{PublicCertificate: to.Ptr(selfSigned(t, "fabrikam.example", expiry.AddDate(1, 0, 0)))}
			s.certs.put("partner-public", c)
		}, want: []drift.Difference{{Kind: drift.Certificate, Name: "partner-public", Change: drift.Update, Fields: []string{"notAfter", "publicCertificate"}}}},
		{name: "a key under another name is reported", change: func(s *account) {
			c := s.certs.items["contoso-signing"]
			p := *c.Properties
			p.Key = &armlogic.KeyVaultKeyReference{KeyName: to.Ptr("contoso-as2-old"), KeyVault: &armlogic.KeyVaultKeyReferenceKeyVault{ID: to.Ptr(vaultNEU)}}
			c.Properties = &p
			s.certs.put("contoso-signing", c)
		}, want: []drift.Difference{{Kind: drift.Certificate, Name: "contoso-signing", Change: drift.Update, Fields: []string{"key.keyName"}}}},
		{name: "a partner missing on the standby is to be created", change: func(s *account) { s.partners.del("Northwind") },
			want: []drift.Difference{{Kind: drift.Partner, Name: "Northwind", Change: drift.Create}}},
		{name: "a disabled duplicate check is named by its setting", change: func(s *account) {
			ag := s.agreements.items["contoso-fabrikam-x12"]
			ag.Properties.Content.X12.ReceiveAgreement.ProtocolSettings.ValidationSettings.CheckDuplicateInterchangeControlNumber = to.Ptr(false)
		}, want: []drift.Difference{{Kind: drift.Agreement, Name: "Contoso-Fabrikam-X12", Change: drift.Update,
			Fields: []string{"content.x12.receiveAgreement.protocolSettings.validationSettings.checkDuplicateInterchangeControlNumber"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			active, standby := newFakeAccount(), newFakeAccount()
			pub := newCerts(t)
			seed(t, active, vaultWEU, pub)
			seed(t, standby, vaultNEU, pub)
			tt.change(standby)
			a, err := newArtifacts(t, active).Artifacts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			s, err := newArtifacts(t, standby).Artifacts(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []drift.Difference
			for _, d := range drift.Compare(a, s, nil, false).Differences {
				d.What = ""
				got = append(got, d)
			}
			if !slices.EqualFunc(got, tt.want, func(x, y drift.Difference) bool {
				return x.Kind == y.Kind && x.Name == y.Name && x.Change == y.Change && slices.Equal(x.Fields, y.Fields)
			}) {
				t.Errorf("differences %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestPutOfWhatWasReadRoundTripsToTheSameFields(t *testing.T) {
	active, standby := newFakeAccount(), newFakeAccount()
	seed(t, active, vaultWEU, newCerts(t))
	ctx := context.Background()
	src, dst := newArtifacts(t, active), newArtifacts(t, standby)
	arts, err := src.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		err := dst.Put(ctx, a)
		if a.Fields["privateKey"] == "true" {
			if !drerr.Is(err, drerr.Invalid) || !errors.Is(err, logic.ErrPrivateKey) || !strings.Contains(err.Error(), "contoso-as2") {
				t.Errorf("put of keyed certificate %s: %v, want Invalid naming the key", a.Name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("put %s %s: %v", a.Kind, a.Name, err)
		}
	}
	if _, ok := standby.certs.items["contoso-signing"]; ok {
		t.Error("the keyed certificate was written")
	}
	// Twice: a PUT is idempotent and changes nothing the second time.
	for _, a := range arts {
		if a.Fields["privateKey"] != "true" {
			if err := dst.Put(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	back, err := dst.Artifacts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, got := index(t, arts), index(t, back)
	delete(want, "certificate/contoso-signing")
	if len(got) != len(want) {
		t.Fatalf("read back %d artifacts, want %d", len(got), len(want))
	}
	for k, w := range want {
		if g := got[k]; !maps.Equal(g.Fields, w.Fields) || string(g.Body) != string(w.Body) {
			t.Errorf("%s read back as\n%v %s\nwant\n%v %s", k, g.Fields, g.Body, w.Fields, w.Body)
		}
	}
}

func TestContentIsReadThroughACallbackWhenTheListingHasNoLink(t *testing.T) {
	a := newFakeAccount()
	a.noLink = true
	seed(t, a, vaultWEU, newCerts(t))
	arts, err := newArtifacts(t, a).Artifacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if m := index(t, arts)["map/OrdersToSAP"]; m.Fields["content"] != drift.Digest([]byte(`<xsl:stylesheet version="1.0"/>`)) {
		t.Errorf("map content %q", m.Fields["content"])
	}
	if a.callbacks != 2 {
		t.Errorf("asked for %d callback URLs, want 2 (a schema and a map)", a.callbacks)
	}
}

func TestContentFailuresSayWhatFailedNeverTheLink(t *testing.T) {
	tests := []struct {
		name   string
		status int
		down   bool
		code   drerr.Code
	}{
		{name: "a refused connection is Unreachable", down: true, code: drerr.Unreachable},
		{name: "a missing blob is NotFound", status: http.StatusNotFound, code: drerr.NotFound},
		{name: "a storage failure is Unavailable", status: http.StatusServiceUnavailable, code: drerr.Unavailable},
		{name: "an expired signature is Internal", status: http.StatusForbidden, code: drerr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAccount()
			seed(t, a, vaultWEU, newCerts(t))
			a.contentStatus, a.contentDown = tt.status, tt.down
			_, err := newArtifacts(t, a).Artifacts(context.Background())
			if !drerr.Is(err, tt.code) {
				t.Fatalf("error %v, want %s", err, tt.code)
			}
			if msg := err.Error(); strings.Contains(msg, sig) || strings.Contains(msg, "prodcontent") {
				t.Errorf("error quotes the content link: %s", msg)
			}
		})
	}
}

func TestDeleteAndStop(t *testing.T) {
	a := newFakeAccount()
	seed(t, a, vaultWEU, newCerts(t))
	ia := newArtifacts(t, a)
	ctx := context.Background()
	if err := ia.Delete(ctx, drift.Map, "OrdersToSAP"); err != nil {
		t.Fatal(err)
	}
	if err := ia.Delete(ctx, drift.Map, "OrdersToSAP"); err != nil {
		t.Errorf("a second delete: %v, want done", err)
	}
	if err := ia.Delete(ctx, drift.Partner, "Northwind"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"delete map OrdersToSAP", "delete partner Northwind"}; !slices.Equal(a.writes, want) {
		t.Errorf("writes %q, want %q", a.writes, want)
	}
	for _, err := range []error{
		ia.Stop(ctx, drift.Map, "OrdersToSAP"),
		ia.Delete(ctx, drift.Trigger, "nightly"),
		ia.Put(ctx, drift.Artifact{Kind: drift.Pipeline, Name: "p", Body: []byte(`{}`)}),
		ia.Put(ctx, drift.Artifact{Kind: drift.Map, Name: "m"}),
		ia.Put(ctx, drift.Artifact{Kind: drift.Map, Name: "m", Body: []byte(`{"mapType":"Xslt"}`)}),
	} {
		if !drerr.Is(err, drerr.Invalid) {
			t.Errorf("got %v, want Invalid", err)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
