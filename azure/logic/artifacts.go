package logic

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"

	"integration-dr/azure/azerr"
	"integration-dr/drerr"
	"integration-dr/drift"
)

// Artifacts are one integration account's B2B artifacts — partners, agreements,
// schemas, maps, certificates and batch configurations — as drift compares them and
// a mirror writes them.
//
// What each kind's Fields hold (the settings that matter):
//   - partner: "partnerType", "identities" (sorted "qualifier:value" list), "metadata.*"
//   - agreement: "agreementType", "hostPartner", "guestPartner", "hostIdentity",
//     "guestIdentity", "content.*" (the protocol settings, flattened: e.g.
//     "content.x12.receiveAgreement.protocolSettings.validationSettings.checkDuplicateInterchangeControlNumber"),
//     "metadata.*". Control-number state is not in an agreement: it lives in the
//     account's sessions, which replication copies and failover bumps per side.
//   - schema: "schemaType", "content" (Digest of the bytes), "contentType",
//     "targetNamespace", "documentName", "metadata.*"
//   - map: "mapType", "content" (Digest), "contentType", "parametersSchema.ref", "metadata.*"
//   - certificate: "publicCertificate" (Digest of the DER bytes), "notAfter" and
//     "subject" (from the public certificate), "privateKey" ("true"/"false"),
//     "key.keyName" — the key's name only: each region has its own Key Vault, so the
//     vault is never compared.
//   - batchConfiguration: "batchGroupName", "releaseCriteria.*" (message count, batch
//     size, recurrence), "metadata.*"
//
// Body is the resource's properties as a PUT takes them, without what the service
// sets (createdTime, changedTime, contentLink). A schema's or map's Body carries its
// content, read through its content link: the link is a SAS URL, a secret, which goes
// into no Fields, Body, error or log line of this adapter.
type Artifacts struct {
	partners     *armlogic.IntegrationAccountPartnersClient
	agreements   *armlogic.IntegrationAccountAgreementsClient
	schemas      *armlogic.IntegrationAccountSchemasClient
	maps         *armlogic.IntegrationAccountMapsClient
	certificates *armlogic.IntegrationAccountCertificatesClient
	batches      *armlogic.IntegrationAccountBatchConfigurationsClient
	// download fetches content links: the client options' transport and retries, and
	// no credential, since a SAS URL carries its own authorisation and our token must
	// not go to a storage host.
	download runtime.Pipeline
	endpoint *url.URL
	group    string
	name     string
}

// Kinds an integration account holds, in creation order.
var accountKinds = []drift.Kind{drift.Certificate, drift.Partner, drift.Schema, drift.Map, drift.Agreement, drift.BatchConfiguration}

// ErrPrivateKey is wrapped by a Put of a certificate that refers to a private key.
var ErrPrivateKey = errors.New("the certificate refers to a private key in the active region's Key Vault")

// maxContent caps a schema's or map's content as read: the service's own limit for
// an artifact's content is well under it.
const maxContent = 64 << 20

// NewArtifacts returns the artifacts of the integration account named by its ARM
// resource ID.
func NewArtifacts(accountID string, cred azcore.TokenCredential, opts *arm.ClientOptions) (*Artifacts, error) {
	const op = "integration account artifacts client"
	id, err := ParseID(accountID)
	if err != nil {
		return nil, err
	}
	f, err := armlogic.NewClientFactory(id.SubscriptionID, cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	raw, err := arm.NewClient("armlogic", "v1.2.0", cred, opts)
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	endpoint, err := url.Parse(raw.Endpoint())
	if err != nil {
		return nil, drerr.E(drerr.Invalid, op, err)
	}
	var co *policy.ClientOptions
	if opts != nil {
		co = &opts.ClientOptions
	}
	return &Artifacts{
		partners: f.NewIntegrationAccountPartnersClient(), agreements: f.NewIntegrationAccountAgreementsClient(),
		schemas: f.NewIntegrationAccountSchemasClient(), maps: f.NewIntegrationAccountMapsClient(),
		certificates: f.NewIntegrationAccountCertificatesClient(), batches: f.NewIntegrationAccountBatchConfigurationsClient(),
		download: runtime.NewPipeline("armlogic", "v1.2.0", runtime.PipelineOptions{}, co),
		endpoint: endpoint, group: id.ResourceGroupName, name: id.Name,
	}, nil
}

// Artifacts reads every artifact of the account, following every page, in creation
// order of their kinds. Artifacts without a name or properties are left out.
func (a *Artifacts) Artifacts(ctx context.Context) ([]drift.Artifact, error) {
	var out []drift.Artifact
	for _, k := range accountKinds {
		got, err := a.list(ctx, k)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

func (a *Artifacts) list(ctx context.Context, k drift.Kind) ([]drift.Artifact, error) {
	op := fmt.Sprintf("list %ss of %s", k, a.name)
	var out []drift.Artifact
	add := func(art drift.Artifact, ok bool, err error) error {
		if err != nil {
			return err
		}
		if ok {
			out = append(out, art)
		}
		return nil
	}
	switch k {
	case drift.Partner:
		for p := a.partners.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(partnerArtifact(v)); err != nil {
					return nil, err
				}
			}
		}
	case drift.Agreement:
		for p := a.agreements.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(agreementArtifact(v)); err != nil {
					return nil, err
				}
			}
		}
	case drift.Schema:
		for p := a.schemas.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(a.schemaArtifact(ctx, v)); err != nil {
					return nil, err
				}
			}
		}
	case drift.Map:
		for p := a.maps.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(a.mapArtifact(ctx, v)); err != nil {
					return nil, err
				}
			}
		}
	case drift.Certificate:
		for p := a.certificates.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(certificateArtifact(v)); err != nil {
					return nil, err
				}
			}
		}
	case drift.BatchConfiguration:
		for p := a.batches.NewListPager(a.group, a.name, nil); p.More(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, azerr.Wrap(op, err)
			}
			for _, v := range page.Value {
				if err := add(batchArtifact(v)); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// Put creates or replaces an artifact from a.Body (a PUT: running it twice is
// harmless). A certificate that refers to a private key is refused with
// drerr.Invalid wrapping ErrPrivateKey, and nothing is written: its Key Vault
// reference names the active region's vault, which the standby must not depend on.
// The operator imports the key into the standby region's vault and adds the
// certificate there; from then on drift compares the key by name only.
func (a *Artifacts) Put(ctx context.Context, art drift.Artifact) error {
	op := fmt.Sprintf("put %s %s of %s", art.Kind, art.Name, a.name)
	if art.Name == "" || len(art.Body) == 0 {
		return drerr.Errorf(drerr.Invalid, op, "an artifact needs a name and a body")
	}
	var err error
	switch art.Kind {
	case drift.Partner:
		var p armlogic.IntegrationAccountPartnerProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		_, err = a.partners.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.IntegrationAccountPartner{Properties: &p}, nil)
	case drift.Agreement:
		var p armlogic.IntegrationAccountAgreementProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		_, err = a.agreements.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.IntegrationAccountAgreement{Properties: &p}, nil)
	case drift.Schema:
		var p armlogic.IntegrationAccountSchemaProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		if p.Content == nil {
			return drerr.Errorf(drerr.Invalid, op, "the body holds no content")
		}
		_, err = a.schemas.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.IntegrationAccountSchema{Properties: &p}, nil)
	case drift.Map:
		var p armlogic.IntegrationAccountMapProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		if p.Content == nil {
			return drerr.Errorf(drerr.Invalid, op, "the body holds no content")
		}
		_, err = a.maps.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.IntegrationAccountMap{Properties: &p}, nil)
	case drift.Certificate:
		var p armlogic.IntegrationAccountCertificateProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		if p.Key != nil {
			return drerr.E(drerr.Invalid, op, fmt.Errorf("%w (key %q): a mirror does not copy a Key Vault reference across regions; import the key into the standby region's Key Vault and add the certificate there by hand", ErrPrivateKey, deref(p.Key.KeyName)))
		}
		_, err = a.certificates.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.IntegrationAccountCertificate{Properties: &p}, nil)
	case drift.BatchConfiguration:
		var p armlogic.BatchConfigurationProperties
		if err := decodeBody(op, art.Body, &p); err != nil {
			return err
		}
		_, err = a.batches.CreateOrUpdate(ctx, a.group, a.name, art.Name, armlogic.BatchConfiguration{Properties: &p}, nil)
	default:
		return notHere(op, art.Kind)
	}
	return azerr.Wrap(op, err)
}

// Delete deletes an artifact; one that is not there counts as deleted.
func (a *Artifacts) Delete(ctx context.Context, kind drift.Kind, name string) error {
	op := fmt.Sprintf("delete %s %s of %s", kind, name, a.name)
	var err error
	switch kind {
	case drift.Partner:
		_, err = a.partners.Delete(ctx, a.group, a.name, name, nil)
	case drift.Agreement:
		_, err = a.agreements.Delete(ctx, a.group, a.name, name, nil)
	case drift.Schema:
		_, err = a.schemas.Delete(ctx, a.group, a.name, name, nil)
	case drift.Map:
		_, err = a.maps.Delete(ctx, a.group, a.name, name, nil)
	case drift.Certificate:
		_, err = a.certificates.Delete(ctx, a.group, a.name, name, nil)
	case drift.BatchConfiguration:
		_, err = a.batches.Delete(ctx, a.group, a.name, name, nil)
	default:
		return notHere(op, kind)
	}
	if err = azerr.Wrap(op, err); drerr.Is(err, drerr.NotFound) {
		return nil
	}
	return err
}

// Stop is drerr.Invalid: nothing in an integration account runs on a schedule of its
// own.
func (a *Artifacts) Stop(_ context.Context, kind drift.Kind, name string) error {
	return drerr.Errorf(drerr.Invalid, fmt.Sprintf("stop %s %s of %s", kind, name, a.name), "only Data Factory triggers are stopped; an integration account's %s does not run", kind)
}

func notHere(op string, k drift.Kind) error {
	return drerr.Errorf(drerr.Invalid, op, "an integration account holds no %s", k)
}

// decodeBody reads a Body into a properties type through the SDK's own JSON.
func decodeBody(op string, body json.RawMessage, into any) error {
	if err := json.Unmarshal(body, into); err != nil {
		return drerr.E(drerr.Invalid, op, fmt.Errorf("body: %w", err))
	}
	return nil
}

func partnerArtifact(v *armlogic.IntegrationAccountPartner) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	body := armlogic.IntegrationAccountPartnerProperties{PartnerType: p.PartnerType, Content: p.Content, Metadata: p.Metadata}
	f := map[string]string{}
	set(f, "partnerType", str(p.PartnerType))
	if p.Content != nil && p.Content.B2B != nil {
		set(f, "identities", identities(p.Content.B2B.BusinessIdentities))
	}
	return artifact(drift.Partner, *v.Name, f, p.Metadata, body)
}

func agreementArtifact(v *armlogic.IntegrationAccountAgreement) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	body := armlogic.IntegrationAccountAgreementProperties{
		AgreementType: p.AgreementType, HostPartner: p.HostPartner, GuestPartner: p.GuestPartner,
		HostIdentity: p.HostIdentity, GuestIdentity: p.GuestIdentity, Content: p.Content, Metadata: p.Metadata,
	}
	f := map[string]string{}
	set(f, "agreementType", str(p.AgreementType))
	set(f, "hostPartner", deref(p.HostPartner))
	set(f, "guestPartner", deref(p.GuestPartner))
	set(f, "hostIdentity", identities([]*armlogic.BusinessIdentity{p.HostIdentity}))
	set(f, "guestIdentity", identities([]*armlogic.BusinessIdentity{p.GuestIdentity}))
	if err := flattenInto(f, "content", p.Content); err != nil {
		return drift.Artifact{}, false, err
	}
	return artifact(drift.Agreement, *v.Name, f, p.Metadata, body)
}

func (a *Artifacts) schemaArtifact(ctx context.Context, v *armlogic.IntegrationAccountSchema) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	content, err := a.content(ctx, drift.Schema, *v.Name, p.Content, p.ContentLink, func(ctx context.Context) (string, error) {
		r, err := a.schemas.ListContentCallbackURL(ctx, a.group, a.name, *v.Name, callbackParams(), nil)
		return deref(r.Value), err
	})
	if err != nil {
		return drift.Artifact{}, false, err
	}
	body := armlogic.IntegrationAccountSchemaProperties{
		SchemaType: p.SchemaType, Content: to.Ptr(string(content)), ContentType: p.ContentType,
		DocumentName: p.DocumentName, FileName: p.FileName, TargetNamespace: p.TargetNamespace, Metadata: p.Metadata,
	}
	f := map[string]string{"content": drift.Digest(content)}
	set(f, "schemaType", str(p.SchemaType))
	set(f, "contentType", deref(p.ContentType))
	set(f, "targetNamespace", deref(p.TargetNamespace))
	set(f, "documentName", deref(p.DocumentName))
	return artifact(drift.Schema, *v.Name, f, p.Metadata, body)
}

func (a *Artifacts) mapArtifact(ctx context.Context, v *armlogic.IntegrationAccountMap) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	content, err := a.content(ctx, drift.Map, *v.Name, p.Content, p.ContentLink, func(ctx context.Context) (string, error) {
		r, err := a.maps.ListContentCallbackURL(ctx, a.group, a.name, *v.Name, callbackParams(), nil)
		return deref(r.Value), err
	})
	if err != nil {
		return drift.Artifact{}, false, err
	}
	body := armlogic.IntegrationAccountMapProperties{
		MapType: p.MapType, Content: to.Ptr(string(content)), ContentType: p.ContentType,
		ParametersSchema: p.ParametersSchema, Metadata: p.Metadata,
	}
	f := map[string]string{"content": drift.Digest(content)}
	set(f, "mapType", str(p.MapType))
	set(f, "contentType", deref(p.ContentType))
	if p.ParametersSchema != nil {
		set(f, "parametersSchema.ref", deref(p.ParametersSchema.Ref))
	}
	return artifact(drift.Map, *v.Name, f, p.Metadata, body)
}

func certificateArtifact(v *armlogic.IntegrationAccountCertificate) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	body := armlogic.IntegrationAccountCertificateProperties{PublicCertificate: p.PublicCertificate, Metadata: p.Metadata}
	f := map[string]string{"privateKey": "false"}
	if pub := deref(p.PublicCertificate); pub != "" {
		der := publicDER(pub)
		f["publicCertificate"] = drift.Digest(der)
		if c, err := x509.ParseCertificate(der); err == nil {
			f["notAfter"] = c.NotAfter.UTC().Format(time.RFC3339)
			f["subject"] = c.Subject.String()
		}
	}
	if k := p.Key; k != nil {
		f["privateKey"] = "true"
		set(f, "key.keyName", deref(k.KeyName))
		// The vault is left out on purpose: it is the other region's (see Put).
		body.Key = &armlogic.KeyVaultKeyReference{KeyName: k.KeyName, KeyVersion: k.KeyVersion}
	}
	return artifact(drift.Certificate, *v.Name, f, p.Metadata, body)
}

func batchArtifact(v *armlogic.BatchConfiguration) (drift.Artifact, bool, error) {
	if v == nil || v.Name == nil || v.Properties == nil {
		return drift.Artifact{}, false, nil
	}
	p := v.Properties
	body := armlogic.BatchConfigurationProperties{BatchGroupName: p.BatchGroupName, ReleaseCriteria: p.ReleaseCriteria, Metadata: p.Metadata}
	f := map[string]string{}
	set(f, "batchGroupName", deref(p.BatchGroupName))
	if err := flattenInto(f, "releaseCriteria", p.ReleaseCriteria); err != nil {
		return drift.Artifact{}, false, err
	}
	return artifact(drift.BatchConfiguration, *v.Name, f, p.Metadata, body)
}

// artifact completes an artifact with its metadata's settings and its body.
func artifact(k drift.Kind, name string, f map[string]string, metadata, body any) (drift.Artifact, bool, error) {
	if err := flattenInto(f, "metadata", metadata); err != nil {
		return drift.Artifact{}, false, err
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return drift.Artifact{}, false, drerr.E(drerr.Internal, fmt.Sprintf("read %s %s", k, name), err)
	}
	return drift.Artifact{Kind: k, Name: name, Fields: f, Body: raw}, true, nil
}

// flattenInto adds v's settings under prefix, through the SDK's JSON so that paths
// are the REST API's names.
func flattenInto(f map[string]string, prefix string, v any) error {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return drerr.E(drerr.Internal, "flatten "+prefix, err)
	}
	if err := drift.FlattenJSON(f, prefix, raw); err != nil {
		return drerr.E(drerr.Internal, "flatten "+prefix, err)
	}
	return nil
}

// identities is a sorted "qualifier:value" list: the order a partner's identities
// were entered in means nothing.
func identities(ids []*armlogic.BusinessIdentity) string {
	var out []string
	for _, id := range ids {
		if id != nil {
			out = append(out, deref(id.Qualifier)+":"+deref(id.Value))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// publicDER reads a public certificate as the API holds it (base64 DER; PEM is
// accepted too); what does not decode is digested as it is.
func publicDER(pub string) []byte {
	if b, _ := pem.Decode([]byte(pub)); b != nil {
		return b.Bytes
	}
	if der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pub)); err == nil {
		return der
	}
	return []byte(pub)
}

func callbackParams() armlogic.GetCallbackURLParameters {
	return armlogic.GetCallbackURLParameters{KeyType: to.Ptr(armlogic.KeyTypePrimary), NotAfter: to.Ptr(time.Now().Add(15 * time.Minute).UTC())}
}

// content reads a schema's or map's content: inline when the service sent it, else
// through the content link the listing carried, else through a callback URL asked
// for. The listing's link comes first because asking for a callback URL is a POST,
// which ARM counts against the write bucket.
func (a *Artifacts) content(ctx context.Context, k drift.Kind, name string, inline *string, link *armlogic.ContentLink, callback func(context.Context) (string, error)) ([]byte, error) {
	op := fmt.Sprintf("read content of %s %s of %s", k, name, a.name)
	if inline != nil {
		return []byte(*inline), nil
	}
	u := ""
	if link != nil {
		u = deref(link.URI)
	}
	if u == "" {
		var err error
		if u, err = callback(ctx); err != nil {
			return nil, azerr.Wrap(op, err)
		}
		if u == "" {
			return nil, drerr.Errorf(drerr.Internal, op, "the service gave no content URL")
		}
	}
	return a.fetch(ctx, op, u)
}

// fetch GETs a content link. Its errors never carry the link, nor any error that
// might quote it: only what kind of failure it was.
func (a *Artifacts) fetch(ctx context.Context, op, link string) ([]byte, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, drerr.Errorf(drerr.Internal, op, "the content URL does not parse")
	}
	// A SAS URL over plain HTTP would show its signature on the wire: only a local
	// stand-in, on the very host the ARM endpoint names, may use http.
	local := strings.EqualFold(a.endpoint.Scheme, "http") && strings.EqualFold(u.Host, a.endpoint.Host)
	if !strings.EqualFold(u.Scheme, "https") && !local {
		return nil, drerr.Errorf(drerr.Invalid, op, "the content URL is not https")
	}
	req, err := runtime.NewRequest(ctx, http.MethodGet, link)
	if err != nil {
		return nil, drerr.Errorf(drerr.Internal, op, "the content URL is not a valid request")
	}
	resp, err := a.download.Do(req)
	if err != nil {
		// Classified, then dropped: transport errors quote the URL.
		code := drerr.CodeOf(azerr.Wrap(op, err))
		return nil, drerr.Errorf(code, op, "no answer from the content URL (%s)", code)
	}
	defer func() { _ = resp.Body.Close() }() // read below; its read error is the one that counts
	if resp.StatusCode != http.StatusOK {
		return nil, drerr.Errorf(statusCode(resp.StatusCode), op, "the content URL answered %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxContent+1))
	if err != nil {
		return nil, drerr.Errorf(drerr.Unavailable, op, "the content was cut short")
	}
	if len(b) > maxContent {
		return nil, drerr.Errorf(drerr.Invalid, op, "the content is larger than %d bytes", maxContent)
	}
	return b, nil
}

func statusCode(status int) drerr.Code {
	switch {
	case status == http.StatusNotFound:
		return drerr.NotFound
	case status == http.StatusTooManyRequests:
		return drerr.Throttled
	case status >= 500:
		return drerr.Unavailable
	}
	return drerr.Internal
}

func set(f map[string]string, k, v string) {
	if v != "" {
		f[k] = v
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func str[T ~string](p *T) string {
	if p == nil {
		return ""
	}
	return string(*p)
}
