package armstandin

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"

	"integration-dr/drift"
)

// Integration account artifacts (partners, schemas, maps, certificates, batch
// configurations; agreements' writes) and Data Factory pipelines (pipelines.go), as
// armlogic v1.2.0 and armdatafactory v9.1.0 read and write them, with ARM's
// semantics: list pages of s.PageSize (or $top) linked by nextLink ($skiptoken), 404
// for what is not there, a PUT answered 201 when it created and 200 when it replaced,
// a DELETE answered 200, or 204 when there was nothing to delete. Names compare
// case-insensitively and keep the case they were created with.
//
// A schema's or map's content is not returned by GET or list: like the service, they
// carry a contentLink, a URL with a signature, which the stand-in serves outside ARM
// (no token, no limits) at /_standin/content/{token}?sig=... while the account is
// reachable; listContentCallbackUrl returns the same link.
//
// Writes through the API are recorded (Writes) as "{kind}.create", "{kind}.update"
// and "{kind}.delete" — "partners.create" — with the properties written as content,
// so a test can count creations per name; Stats count them as ARM operations
// ("partners.put", "partners.delete", "maps.listContentCallbackURL").

// artifactState holds the artifacts; it has its own lock, taken after none other.
type artifactState struct {
	mu    sync.Mutex
	items map[string]*artifactItem // by artKey
	links map[string]*artifactItem // content links by token
}

func newArtifactState() *artifactState {
	return &artifactState{items: map[string]*artifactItem{}, links: map[string]*artifactItem{}}
}

// artifactItem is one artifact as the service keeps it.
type artifactItem struct {
	kind, name   string
	group, scope string // scope: the integration account, or the data factory
	// filed is the account its requests are filed under: the integration account, or
	// "" (the resource group) for a data factory's.
	filed            string
	props            json.RawMessage // as written, less content and read-only fields
	content          *string         // schemas' and maps' content
	token, sig       string          // the content link's
	created, changed time.Time
}

func artKey(kind, group, scope, name string) string {
	return strings.ToLower(kind + "|" + group + "/" + scope + "/" + name)
}

// segment is the path segment (and Writes' prefix) of an integration account kind.
func segment(k drift.Kind) (string, bool) {
	switch k {
	case drift.Partner:
		return "partners", true
	case drift.Schema:
		return "schemas", true
	case drift.Map:
		return "maps", true
	case drift.Certificate:
		return "certificates", true
	case drift.BatchConfiguration:
		return "batchConfigurations", true
	case drift.Agreement:
		return "agreements", true
	}
	return "", false
}

var (
	artifactPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Logic/integrationAccounts/([^/]+)/(partners|schemas|maps|certificates|batchConfigurations|agreements)(?:/([^/]+)(/listContentCallbackUrl)?)?$`)
	contentPath  = regexp.MustCompile(`^/_standin/content/([A-Za-z0-9]+)$`)
)

// routeArtifacts routes the requests this file and pipelines.go serve; ok is false
// for any other, which route then tries.
func (s *Server) routeArtifacts(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	if m := artifactPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, acct = m[1], m[2]
		seg, name, action := strings.ToLower(m[3]), m[4], m[5]
		method := r.Method
		if seg == "agreements" {
			// Reads of agreements are served by route's own block.
			switch {
			case name != "" && method == http.MethodPut:
				return "IntegrationAccountAgreementsClient.CreateOrUpdate", group, acct, fake.NewIntegrationAccountAgreementsServerTransport(s.agreementWrites(r)), true
			case name != "" && method == http.MethodDelete:
				return "IntegrationAccountAgreementsClient.Delete", group, acct, fake.NewIntegrationAccountAgreementsServerTransport(s.agreementWrites(r)), true
			}
			return "", "", "", nil, false
		}
		client, tr := s.artifactServer(r, seg)
		switch {
		case name == "" && method == http.MethodGet:
			api = "NewListPager"
		case action != "" && method == http.MethodPost && (seg == "schemas" || seg == "maps"):
			api = "ListContentCallbackURL"
		case action != "":
			return "", "", "", nil, false
		case method == http.MethodGet:
			api = "Get"
		case method == http.MethodPut:
			api = "CreateOrUpdate"
		case method == http.MethodDelete:
			api = "Delete"
		default:
			return "", "", "", nil, false
		}
		return client + "." + api, group, acct, tr, true
	}
	return s.routePipelines(r)
}

// The generic handlers. Each SDK client has its own option and response types but
// the same semantics, so one handler per operation serves every kind: a response
// type embeds the resource (or its list result), so the resource's JSON fills it,
// as convert fills the SDK's types. They run outside any lock.

// artifactAPI is one kind's requests as the generic handlers serve them.
type artifactAPI struct {
	s    *Server
	r    *http.Request
	kind string // the store's kind: the path segment, Writes' and Stats' prefix
	// factory is set for a data factory's: filed under its resource group (account
	// ""), and a PUT answers 200 whether it created or replaced (the SDK accepts
	// nothing else).
	factory bool
	// unpaged: the API's list has no nextLink, its one page holds every one.
	unpaged bool
}

// The fake servers' function types, as the SDK's fakes declare them per client.
type (
	listFunc[O, R any]   = func(group, scope string, _ *O) azfake.PagerResponder[R]
	getFunc[O, R any]    = func(_ context.Context, group, scope, name string, _ *O) (azfake.Responder[R], azfake.ErrorResponder)
	putFunc[O, R, B any] = func(_ context.Context, group, scope, name string, body B, _ *O) (azfake.Responder[R], azfake.ErrorResponder)
	linkFunc[O, R any]   = func(_ context.Context, group, scope, name string, _ armlogic.GetCallbackURLParameters, _ *O) (azfake.Responder[R], azfake.ErrorResponder)
)

func (a artifactAPI) filed(scope string) string {
	if a.factory {
		return ""
	}
	return scope
}

// lister answers a list with a page of the kind's artifacts in scope, linked to the
// next by nextLink.
func lister[O, R any](a artifactAPI) listFunc[O, R] {
	return func(group, scope string, _ *O) (resp azfake.PagerResponder[R]) {
		var page R
		if err := convert(a.page(group, scope), &page); err != nil {
			resp.AddResponseError(http.StatusInternalServerError, "InternalServerError")
			return
		}
		resp.AddPage(http.StatusOK, page, nil)
		return
	}
}

// getter answers a GET with the artifact, 404 when there is none.
func getter[O, R any](a artifactAPI) getFunc[O, R] {
	return func(_ context.Context, group, scope, name string, _ *O) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
		var v R
		view, ok := a.get(group, scope, name)
		var err error
		if ok {
			err = convert(view, &v)
		}
		if answered(&errResp, ok, err) {
			resp.SetResponse(http.StatusOK, v, nil)
		}
		return
	}
}

// putter answers a PUT: props takes the properties from the body and says whether
// they hold what the API requires (400 InvalidRequestContent when not).
func putter[O, R, B any](a artifactAPI, props func(B) (any, bool)) putFunc[O, R, B] {
	return func(_ context.Context, group, scope, name string, body B, _ *O) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
		p, valid := props(body)
		if !valid {
			errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
			return
		}
		var v R
		view, created, err := a.put(group, scope, name, p)
		if err == nil {
			err = convert(view, &v)
		}
		if answered(&errResp, true, err) {
			status := putStatus(created)
			if a.factory {
				status = http.StatusOK
			}
			resp.SetResponse(status, v, nil)
		}
		return
	}
}

// deleter answers a DELETE: 200, or 204 when there was nothing to delete.
func deleter[O, R any](a artifactAPI) getFunc[O, R] {
	return func(_ context.Context, group, scope, name string, _ *O) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
		var none R // a delete's response carries nothing
		resp.SetResponse(deleteStatus(a.s.deleteArtifact(a.kind, group, scope, a.filed(scope), name)), none, nil)
		return
	}
}

// linker answers listContentCallbackUrl with a schema's or map's content link.
func linker[O, R any](a artifactAPI) linkFunc[O, R] {
	return func(_ context.Context, group, scope, name string, _ armlogic.GetCallbackURLParameters, _ *O) (resp azfake.Responder[R], errResp azfake.ErrorResponder) {
		var v R
		link, ok := a.s.contentLink(a.r, a.kind, group, scope, name)
		var err error
		if ok {
			err = convert(map[string]any{"value": link}, &v)
		}
		if answered(&errResp, ok, err) {
			resp.SetResponse(http.StatusOK, v, nil)
		}
		return
	}
}

// page is a page of the kind's artifacts in scope as a list result: s.PageSize (or
// $top) of them after $skiptoken, and the nextLink when more follow; unpaged, every
// one.
func (a artifactAPI) page(group, scope string) map[string]any {
	s, r := a.s, a.r
	top := s.PageSize
	if n, err := strconv.Atoi(r.URL.Query().Get("$top")); err == nil && n > 0 {
		top = n
	}
	if a.unpaged {
		top = int(^uint(0) >> 1)
	}
	after := strings.ToLower(r.URL.Query().Get("$skiptoken"))
	st := s.arts
	st.mu.Lock()
	defer st.mu.Unlock()
	prefix := artKey(a.kind, group, scope, "")
	keys := slices.Sorted(maps.Keys(st.items))
	views := []map[string]any{}
	last, more := "", false
	for _, k := range keys {
		it := st.items[k]
		if !strings.HasPrefix(k, prefix) || strings.ToLower(it.name) <= after && after != "" {
			continue
		}
		if len(views) == top {
			more = true
			break
		}
		views = append(views, it.view(r, strings.TrimSuffix(r.URL.Path, "/")+"/"+url.PathEscape(it.name)))
		last = it.name
	}
	out := map[string]any{"value": views}
	if more {
		next := url.URL{Scheme: scheme(r), Host: r.Host, Path: r.URL.Path}
		q := r.URL.Query()
		q.Set("$skiptoken", last)
		next.RawQuery = q.Encode()
		out["nextLink"] = next.String()
	}
	return out
}

// get is one artifact's view; ok is false when there is none.
func (a artifactAPI) get(group, scope, name string) (view map[string]any, ok bool) {
	st := a.s.arts
	st.mu.Lock()
	defer st.mu.Unlock()
	it, ok := st.items[artKey(a.kind, group, scope, name)]
	if !ok {
		return nil, false
	}
	return it.view(a.r, a.r.URL.Path), true
}

// put creates or replaces an artifact from its properties (the SDK's type, or raw
// JSON), records the write, and returns its view and whether it created it. The
// content of a schema or map moves behind a new content link.
func (a artifactAPI) put(group, scope, name string, props any) (view map[string]any, created bool, err error) {
	filed := a.filed(scope)
	it, created, err := a.s.storeArtifact(a.kind, group, scope, filed, name, props)
	if err != nil {
		return nil, false, err
	}
	op := ".update"
	if created {
		op = ".create"
	}
	a.s.recordWrite(group, filed, a.kind+op, it.name, it.props)
	a.s.arts.mu.Lock()
	defer a.s.arts.mu.Unlock()
	return it.view(a.r, a.r.URL.Path), created, nil
}

func (s *Server) storeArtifact(kind, group, scope, filed, name string, props any) (*artifactItem, bool, error) {
	raw, err := rawJSON(props)
	if err != nil {
		return nil, false, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, false, fmt.Errorf("properties are not an object")
	}
	var content *string
	if kind == "schemas" || kind == "maps" {
		// Content goes behind a link; a partner's or agreement's "content" stays.
		if c, ok := m["content"].(string); ok {
			content = &c
		}
		delete(m, "content")
	}
	// What the service sets is never taken from a request.
	for _, k := range []string{"contentLink", "createdTime", "changedTime"} {
		delete(m, k)
	}
	if raw, err = json.Marshal(m); err != nil {
		return nil, false, err
	}
	now := s.ServiceNow(group, filed)
	st := s.arts
	st.mu.Lock()
	defer st.mu.Unlock()
	k := artKey(kind, group, scope, name)
	it, had := st.items[k]
	if !had {
		it = &artifactItem{kind: kind, name: name, group: group, scope: scope, filed: filed, created: now}
		st.items[k] = it
	}
	it.props, it.changed = raw, now
	if content != nil {
		delete(st.links, it.token)
		it.content, it.token, it.sig = content, rand.Text(), rand.Text()
		st.links[it.token] = it
	}
	return it, !had, nil
}

// deleteArtifact deletes an artifact and reports whether there was one.
func (s *Server) deleteArtifact(kind, group, scope, filed, name string) bool {
	st := s.arts
	st.mu.Lock()
	k := artKey(kind, group, scope, name)
	it, ok := st.items[k]
	if ok {
		delete(st.items, k)
		delete(st.links, it.token)
	}
	st.mu.Unlock()
	if ok {
		s.recordWrite(group, filed, kind+".delete", it.name, nil)
	}
	return ok
}

// view is the resource as ARM answers it. Callers hold s.arts.mu.
func (it *artifactItem) view(r *http.Request, id string) map[string]any {
	props := map[string]any{}
	_ = json.Unmarshal(it.props, &props) // stored by storeArtifact: an object
	if strings.HasPrefix(strings.ToLower(it.kind), "pipelines") {
		return map[string]any{"id": id, "name": it.name, "type": "Microsoft.DataFactory/factories/pipelines", "properties": props}
	}
	props["createdTime"], props["changedTime"] = it.created.Format(time.RFC3339Nano), it.changed.Format(time.RFC3339Nano)
	if it.content != nil {
		props["contentLink"] = map[string]any{"uri": it.link(r), "contentSize": len(*it.content)}
	}
	return map[string]any{"id": id, "name": it.name, "type": "Microsoft.Logic/integrationAccounts/" + it.kind, "properties": props}
}

func (it *artifactItem) link(r *http.Request) string {
	u := url.URL{Scheme: scheme(r), Host: r.Host, Path: "/_standin/content/" + it.token, RawQuery: url.Values{"sig": {it.sig}}.Encode()}
	return u.String()
}

// convert turns a view into the SDK's type through the SDK's own JSON.
func convert(v map[string]any, into any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// serveContent serves a content link: the artifact's content, with neither token nor
// limits, as a storage SAS URL is; unreachable with its account. A wrong signature is
// 403, an unknown link 404, as storage answers.
func (s *Server) serveContent(w http.ResponseWriter, r *http.Request) {
	m := contentPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	st := s.arts
	st.mu.Lock()
	it, ok := st.links[m[1]]
	var body, group, filed, kind, sig string
	if ok {
		body, group, filed, kind, sig = *it.content, it.group, it.filed, it.kind, it.sig
	}
	st.mu.Unlock()
	switch {
	case !ok:
		http.Error(w, "BlobNotFound", http.StatusNotFound)
	case s.isUnreachable(group, filed):
		s.count(group+"/"+filed, "unreachable")
		hangUp(w)
	case r.URL.Query().Get("sig") != sig:
		http.Error(w, "AuthenticationFailed", http.StatusForbidden)
	default:
		s.count(group+"/"+filed, kind+".content")
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(body))
	}
}

// artifactServer returns the fake server of an integration account kind and the name
// of its SDK client. The clients differ only in their types and in what a PUT
// requires (props).
func (s *Server) artifactServer(r *http.Request, seg string) (string, transport) {
	a := artifactAPI{s: s, r: r, kind: seg}
	switch seg {
	case "partners":
		return "IntegrationAccountPartnersClient", fake.NewIntegrationAccountPartnersServerTransport(&fake.IntegrationAccountPartnersServer{
			NewListPager:   lister[armlogic.IntegrationAccountPartnersClientListOptions, armlogic.IntegrationAccountPartnersClientListResponse](a),
			Get:            getter[armlogic.IntegrationAccountPartnersClientGetOptions, armlogic.IntegrationAccountPartnersClientGetResponse](a),
			CreateOrUpdate: putter[armlogic.IntegrationAccountPartnersClientCreateOrUpdateOptions, armlogic.IntegrationAccountPartnersClientCreateOrUpdateResponse](a, partnerProps),
			Delete:         deleter[armlogic.IntegrationAccountPartnersClientDeleteOptions, armlogic.IntegrationAccountPartnersClientDeleteResponse](a),
		})
	case "schemas":
		return "IntegrationAccountSchemasClient", fake.NewIntegrationAccountSchemasServerTransport(&fake.IntegrationAccountSchemasServer{
			NewListPager:           lister[armlogic.IntegrationAccountSchemasClientListOptions, armlogic.IntegrationAccountSchemasClientListResponse](a),
			Get:                    getter[armlogic.IntegrationAccountSchemasClientGetOptions, armlogic.IntegrationAccountSchemasClientGetResponse](a),
			CreateOrUpdate:         putter[armlogic.IntegrationAccountSchemasClientCreateOrUpdateOptions, armlogic.IntegrationAccountSchemasClientCreateOrUpdateResponse](a, schemaProps),
			Delete:                 deleter[armlogic.IntegrationAccountSchemasClientDeleteOptions, armlogic.IntegrationAccountSchemasClientDeleteResponse](a),
			ListContentCallbackURL: linker[armlogic.IntegrationAccountSchemasClientListContentCallbackURLOptions, armlogic.IntegrationAccountSchemasClientListContentCallbackURLResponse](a),
		})
	case "maps":
		return "IntegrationAccountMapsClient", fake.NewIntegrationAccountMapsServerTransport(&fake.IntegrationAccountMapsServer{
			NewListPager:           lister[armlogic.IntegrationAccountMapsClientListOptions, armlogic.IntegrationAccountMapsClientListResponse](a),
			Get:                    getter[armlogic.IntegrationAccountMapsClientGetOptions, armlogic.IntegrationAccountMapsClientGetResponse](a),
			CreateOrUpdate:         putter[armlogic.IntegrationAccountMapsClientCreateOrUpdateOptions, armlogic.IntegrationAccountMapsClientCreateOrUpdateResponse](a, mapProps),
			Delete:                 deleter[armlogic.IntegrationAccountMapsClientDeleteOptions, armlogic.IntegrationAccountMapsClientDeleteResponse](a),
			ListContentCallbackURL: linker[armlogic.IntegrationAccountMapsClientListContentCallbackURLOptions, armlogic.IntegrationAccountMapsClientListContentCallbackURLResponse](a),
		})
	case "certificates":
		return "IntegrationAccountCertificatesClient", fake.NewIntegrationAccountCertificatesServerTransport(&fake.IntegrationAccountCertificatesServer{
			NewListPager:   lister[armlogic.IntegrationAccountCertificatesClientListOptions, armlogic.IntegrationAccountCertificatesClientListResponse](a),
			Get:            getter[armlogic.IntegrationAccountCertificatesClientGetOptions, armlogic.IntegrationAccountCertificatesClientGetResponse](a),
			CreateOrUpdate: putter[armlogic.IntegrationAccountCertificatesClientCreateOrUpdateOptions, armlogic.IntegrationAccountCertificatesClientCreateOrUpdateResponse](a, certificateProps),
			Delete:         deleter[armlogic.IntegrationAccountCertificatesClientDeleteOptions, armlogic.IntegrationAccountCertificatesClientDeleteResponse](a),
		})
	}
	// The collection has no nextLink in the API: its one page holds every one.
	a.unpaged = true
	return "IntegrationAccountBatchConfigurationsClient", fake.NewIntegrationAccountBatchConfigurationsServerTransport(&fake.IntegrationAccountBatchConfigurationsServer{
		NewListPager:   lister[armlogic.IntegrationAccountBatchConfigurationsClientListOptions, armlogic.IntegrationAccountBatchConfigurationsClientListResponse](a),
		Get:            getter[armlogic.IntegrationAccountBatchConfigurationsClientGetOptions, armlogic.IntegrationAccountBatchConfigurationsClientGetResponse](a),
		CreateOrUpdate: putter[armlogic.IntegrationAccountBatchConfigurationsClientCreateOrUpdateOptions, armlogic.IntegrationAccountBatchConfigurationsClientCreateOrUpdateResponse](a, batchConfigurationProps),
		Delete:         deleter[armlogic.IntegrationAccountBatchConfigurationsClientDeleteOptions, armlogic.IntegrationAccountBatchConfigurationsClientDeleteResponse](a),
	})
}

// What a PUT of each kind requires, as the service refuses it without.

func partnerProps(b armlogic.IntegrationAccountPartner) (any, bool) {
	return b.Properties, b.Properties != nil && b.Properties.PartnerType != nil && b.Properties.Content != nil
}

func schemaProps(b armlogic.IntegrationAccountSchema) (any, bool) {
	return b.Properties, b.Properties != nil && b.Properties.SchemaType != nil && b.Properties.Content != nil
}

func mapProps(b armlogic.IntegrationAccountMap) (any, bool) {
	return b.Properties, b.Properties != nil && b.Properties.MapType != nil && b.Properties.Content != nil
}

func certificateProps(b armlogic.IntegrationAccountCertificate) (any, bool) {
	return b.Properties, b.Properties != nil && (b.Properties.PublicCertificate != nil || b.Properties.Key != nil)
}

func batchConfigurationProps(b armlogic.BatchConfiguration) (any, bool) {
	return b.Properties, b.Properties != nil && b.Properties.BatchGroupName != nil && b.Properties.ReleaseCriteria != nil
}

// agreementWrites serves PUT and DELETE of agreements, kept where route's reads find
// them (the account's agreements).
func (s *Server) agreementWrites(r *http.Request) *fake.IntegrationAccountAgreementsServer {
	return &fake.IntegrationAccountAgreementsServer{
		CreateOrUpdate: func(_ context.Context, group, acct, name string, body armlogic.IntegrationAccountAgreement, _ *armlogic.IntegrationAccountAgreementsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountAgreementsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			p := body.Properties
			if p == nil || p.AgreementType == nil || p.Content == nil || p.HostPartner == nil || p.GuestPartner == nil || p.HostIdentity == nil || p.GuestIdentity == nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
				return
			}
			ag, created := s.putAgreement(group, acct, name, *p, r.URL.Path)
			raw, _ := json.Marshal(ag.Properties)
			op := "agreements.update"
			if created {
				op = "agreements.create"
			}
			s.recordWrite(group, acct, op, *ag.Name, raw)
			resp.SetResponse(putStatus(created), armlogic.IntegrationAccountAgreementsClientCreateOrUpdateResponse{IntegrationAccountAgreement: ag}, nil)
			return
		},
		Delete: func(_ context.Context, group, acct, name string, _ *armlogic.IntegrationAccountAgreementsClientDeleteOptions) (resp azfake.Responder[armlogic.IntegrationAccountAgreementsClientDeleteResponse], errResp azfake.ErrorResponder) {
			s.store.mu.Lock()
			ags := s.store.account(group, acct).agreements
			old, ok := ags[strings.ToLower(name)]
			delete(ags, strings.ToLower(name))
			s.store.mu.Unlock()
			if ok {
				s.recordWrite(group, acct, "agreements.delete", *old.Name, nil)
			}
			resp.SetResponse(deleteStatus(ok), armlogic.IntegrationAccountAgreementsClientDeleteResponse{}, nil)
			return
		},
	}
}

// putAgreement stores an agreement as the service would: the name it was created
// with, its times set by the service.
func (s *Server) putAgreement(group, acct, name string, p armlogic.IntegrationAccountAgreementProperties, id string) (armlogic.IntegrationAccountAgreement, bool) {
	now := s.ServiceNow(group, acct)
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	ags := s.store.account(group, acct).agreements
	old, had := ags[strings.ToLower(name)]
	p.CreatedTime, p.ChangedTime = to.Ptr(now), to.Ptr(now)
	if had {
		name = *old.Name
		if old.Properties != nil && old.Properties.CreatedTime != nil {
			p.CreatedTime = old.Properties.CreatedTime
		}
	}
	ag := armlogic.IntegrationAccountAgreement{ID: to.Ptr(id), Name: to.Ptr(name), Type: to.Ptr("Microsoft.Logic/integrationAccounts/agreements"), Properties: &p}
	ags[strings.ToLower(name)] = ag
	return ag, !had
}

// contentLink is a schema's or map's content link, as listContentCallbackUrl answers.
func (s *Server) contentLink(r *http.Request, kind, group, acct, name string) (string, bool) {
	st := s.arts
	st.mu.Lock()
	defer st.mu.Unlock()
	it, ok := st.items[artKey(kind, group, acct, name)]
	if !ok || it.content == nil {
		return "", false
	}
	return it.link(r), true
}

// answered sets errResp for a failure or a missing artifact and reports whether the
// caller should answer with the artifact.
func answered(errResp *azfake.ErrorResponder, found bool, err error) bool {
	switch {
	case err != nil:
		errResp.SetError(err)
		return false
	case !found:
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return false
	}
	return true
}

func putStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func deleteStatus(deleted bool) int {
	if deleted {
		return http.StatusOK
	}
	return http.StatusNoContent
}

// PutArtifact creates or replaces an integration account artifact directly, as an
// operator would in the portal: props are its properties (the SDK's properties type,
// or JSON); a schema's or map's "content" goes behind a content link. Agreements go
// where PutAgreement puts them. Direct writes are not in Writes.
func (s *Server) PutArtifact(group, acct string, kind drift.Kind, name string, props any) error {
	seg, ok := segment(kind)
	if !ok {
		return fmt.Errorf("an integration account holds no %s", kind)
	}
	if kind == drift.Agreement {
		var p armlogic.IntegrationAccountAgreementProperties
		if err := convertAny(props, &p); err != nil {
			return err
		}
		s.putAgreement(group, acct, name, p, "")
		return nil
	}
	_, _, err := s.storeArtifact(seg, group, acct, acct, name, props)
	return err
}

// PutMap creates or replaces an XSLT map with content.
func (s *Server) PutMap(group, acct, name, content string) error {
	return s.PutArtifact(group, acct, drift.Map, name, map[string]any{"mapType": "Xslt", "contentType": "application/xml", "content": content})
}

// Artifacts returns an integration account's artifacts of kind by name: their
// properties as stored (content included for schemas and maps), for assertions.
func (s *Server) Artifacts(group, acct string, kind drift.Kind) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	seg, ok := segment(kind)
	if !ok {
		return out
	}
	if kind == drift.Agreement {
		s.store.mu.Lock()
		defer s.store.mu.Unlock()
		for _, a := range s.store.account(group, acct).agreements {
			out[*a.Name], _ = json.Marshal(a.Properties)
		}
		return out
	}
	return s.items(seg, group, acct)
}

// items returns kind's artifacts in scope by name, content included.
func (s *Server) items(kind, group, scope string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	st := s.arts
	st.mu.Lock()
	defer st.mu.Unlock()
	prefix := artKey(kind, group, scope, "")
	for k, it := range st.items {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		props := it.props
		if it.content != nil {
			var m map[string]any
			_ = json.Unmarshal(props, &m)
			m["content"] = *it.content
			props, _ = json.Marshal(m)
		}
		out[it.name] = props
	}
	return out
}

// Creations counts the writes through the API that created something, by
// "{kind}/{name}" (kind as in Write.Op: "maps", "pipelines", "triggers"), in an
// account (acct "": a resource group's data factories).
func (s *Server) Creations(group, acct string) map[string]int {
	out := map[string]int{}
	for _, w := range s.Writes(group, acct) {
		if kind, ok := strings.CutSuffix(w.Op, ".create"); ok {
			out[kind+"/"+w.Name]++
		}
	}
	return out
}

func convertAny(v, into any) error {
	raw, err := rawJSON(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// rawJSON is v as JSON: bytes and strings are taken as JSON already, anything else
// (the SDK's types, maps) is marshalled.
func rawJSON(v any) ([]byte, error) {
	switch x := v.(type) {
	case json.RawMessage:
		return x, nil
	case []byte:
		return x, nil
	case string:
		return []byte(x), nil
	}
	return json.Marshal(v)
}
