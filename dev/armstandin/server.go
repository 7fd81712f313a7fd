package armstandin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/logic/armlogic/fake"
)

// Faults are injected into every ARM request (not the /_standin admin routes).
type Faults struct {
	Latency     time.Duration `json:"latency"`     // added to every request
	Throttle    float64       `json:"throttle"`    // share of requests answered 429
	RetryAfter  int           `json:"retryAfter"`  // seconds, sent with each 429
	ServerError float64       `json:"serverError"` // share answered 500
	Drop        float64       `json:"drop"`        // share whose connection is closed unanswered
	// IgnoreFilter makes the list ignore $filter, as a service that does not
	// implement it would.
	IgnoreFilter bool `json:"ignoreFilter"`
}

// Stats count the ARM requests served, per account ("group/account"; "group/" for
// workflows) and operation ("sessions.list", "workflows.enable", ...). Requests that
// ARM's limits refused count as "throttled" instead, and those for an unreachable
// account as "unreachable".
type Stats map[string]map[string]int

// Write is one write served through the API: for measuring how long a change takes
// to reach the standby, and what reached it.
type Write struct {
	Op      string          // "sessions.put", "workflows.enable", "workflows.disable"
	Name    string          // the session or workflow written
	At      time.Time       // the machine's clock when it was served
	Content json.RawMessage // the session's content; {"state": ...} for a workflow
}

// Server is the stand-in. Use New, then Start or ServeHTTP.
type Server struct {
	store *store
	// PageSize caps a list page when the client sends no $top.
	PageSize int

	limits *limiter

	// ssis holds the SSIS slice: failover groups, integration runtimes, triggers and
	// the long-running operations on them (ssis.go).
	ssis *ssisState
	// arts holds integration account artifacts and pipelines (artifacts.go).
	arts *artifactState

	mu          sync.Mutex
	faults      Faults
	rng         *rand.Rand
	stats       Stats
	writes      map[string][]Write
	unreachable map[string]bool
}

// New returns an empty stand-in that throttles like ARM, in real time.
func New() *Server {
	return &Server{
		store: newStore(), PageSize: 200, limits: newLimiter(ARMLimits(1)), ssis: newSSISState(), arts: newArtifactState(),
		rng: rand.New(rand.NewPCG(1, 2)), stats: Stats{}, writes: map[string][]Write{}, unreachable: map[string]bool{},
	}
}

// SetLimits replaces the request limits and refills every bucket.
func (s *Server) SetLimits(l Limits) { s.limits.set(l) }

// SetClockOffset sets how far the clock of the service holding an account runs ahead
// of this machine's (behind, if d < 0): the changedTime of its sessions and the Date
// of its responses. acct "" sets it for the whole resource group (a region), workflows
// included; an account's own offset wins over its group's.
func (s *Server) SetClockOffset(group, acct string, d time.Duration) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.offsets[key(group, acct)] = d
}

// ServiceNow returns the clock of the service holding an account (acct "": its
// resource group's workflows).
func (s *Server) ServiceNow(group, acct string) time.Time {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return s.store.serviceNow(group, acct)
}

// SetUnreachable cuts an account off, or reconnects it: its requests have their
// connection closed without an answer, as when its region is down or partitioned.
// acct "" cuts off the whole resource group: every account in it and its workflows.
func (s *Server) SetUnreachable(group, acct string, unreachable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if unreachable {
		s.unreachable[key(group, acct)] = true
	} else {
		delete(s.unreachable, key(group, acct))
	}
}

func (s *Server) isUnreachable(group, acct string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unreachable[key(group, acct)] || s.unreachable[key(group, "")]
}

// SetFaults replaces the faults injected from now on.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Stats returns a copy of the request counts and, if reset, starts them again.
func (s *Server) Stats(reset bool) Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{}
	for k, v := range s.stats {
		out[k] = map[string]int{}
		for op, n := range v {
			out[k][op] = n
		}
	}
	if reset {
		s.stats = Stats{}
	}
	return out
}

// Sessions returns name → content of every session of an account.
func (s *Server) Sessions(group, acct string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for name, v := range s.store.snapshot(group, acct) {
		out[name] = v.Content
	}
	return out
}

// SessionsWithTimes returns every session of an account with its changedTime.
func (s *Server) SessionsWithTimes(group, acct string) map[string]Session {
	return s.store.snapshot(group, acct)
}

// Regressions lists the writes that replaced a session's content with content whose
// own time (ControlNumberChangedTime or MicChangedTime) was older.
func (s *Server) Regressions() []string {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	return append([]string(nil), s.store.regressions...)
}

// Writes returns the writes served through the API to an account (acct "": the
// workflows of the resource group), oldest first. Direct writes (PutSession, ...) are
// not in it.
func (s *Server) Writes(group, acct string) []Write {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Write(nil), s.writes[key(group, acct)]...)
}

// WriteTimes returns when each session write through the API to an account was served.
func (s *Server) WriteTimes(group, acct string) []time.Time {
	var out []time.Time
	for _, w := range s.Writes(group, acct) {
		out = append(out, w.At)
	}
	return out
}

// PutSession writes a session directly, as the Logic Apps runtime would, and returns
// the changedTime the service gave it.
func (s *Server) PutSession(group, acct, name string, content json.RawMessage) time.Time {
	return s.store.put(group, acct, name, content, time.Time{}).changed
}

// PutSessionAt writes a session stamped with a changedTime in the past: a change that
// the service makes visible late (clock skew between its nodes, a slow commit).
func (s *Server) PutSessionAt(group, acct, name string, content json.RawMessage, changed time.Time) {
	s.store.put(group, acct, name, content, changed.UTC())
}

// Start serves on 127.0.0.1 at port (0: any free one) until ctx ends. It returns the
// base URL.
func (s *Server) Start(ctx context.Context, port int) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	// An IdleTimeout longer than clients pool connections: otherwise idle time counts
	// against ReadHeaderTimeout and a reused connection can close under a request.
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 5 * time.Minute}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return "http://" + ln.Addr().String(), nil
}

var (
	sessionsPath   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Logic/integrationAccounts/([^/]+)/sessions(?:/([^/]+))?$`)
	agreementsPath = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Logic/integrationAccounts/([^/]+)/agreements(?:/([^/]+))?$`)
	workflowsPath  = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\.Logic/workflows/([^/]+)(?:/(enable|disable))?$`)
	filterExpr     = regexp.MustCompile(`(?i)^\s*ChangedTime\s+ge\s+(\S+)\s*$`)
	providerPath   = regexp.MustCompile(`(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/([^/]+)/`)
)

// apiVersion returns the resource provider a path is under and the api-version it
// is served at: the one the SDK module the product uses is generated from (armlogic
// v1.2.0, armsql v1.2.0, armdatafactory v9.1.0). ok is false for a path under no
// provider served here.
func apiVersion(path string) (provider, version string, ok bool) {
	m := providerPath.FindStringSubmatch(path)
	if m == nil {
		return "", "", false
	}
	switch strings.ToLower(m[1]) {
	case "microsoft.logic":
		return m[1], "2019-05-01", true
	case "microsoft.sql":
		return m[1], "2020-11-01-preview", true
	case "microsoft.datafactory":
		return m[1], "2018-06-01", true
	}
	return m[1], "", false
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_standin/") {
		s.admin(w, r)
		return
	}
	// Go's server adds a Date only to a response that has none; ARM's come from the
	// service's clock, so every answer gets one here, skewed once the account is known.
	w.Header().Set("Date", s.store.now().UTC().Format(http.TimeFormat))
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		armError(w, http.StatusUnauthorized, "AuthenticationFailed", "missing bearer token")
		return
	}
	// Each resource provider serves the one api-version its SDK module is generated
	// from; a path under no provider served here falls through to route's 404.
	if provider, want, ok := apiVersion(r.URL.Path); ok && r.URL.Query().Get("api-version") != want {
		armError(w, http.StatusBadRequest, "InvalidApiVersionParameter", "api-version must be "+want+" for "+provider)
		return
	}
	api, group, acct, tr, ok := s.route(r)
	if !ok {
		armError(w, http.StatusNotFound, "NotFound", "no such route in the stand-in: "+r.Method+" "+r.URL.Path)
		return
	}
	stamp := func() { w.Header().Set("Date", s.ServiceNow(group, acct).Format(http.TimeFormat)) }
	stamp()
	if s.isUnreachable(group, acct) {
		s.count(group+"/"+acct, "unreachable")
		hangUp(w)
		return
	}
	k := kind(r.Method)
	remaining, wait, ok := s.limits.take(principal(r, token), k, s.store.now())
	if !ok {
		s.count(group+"/"+acct, "throttled")
		retryHeaders(w.Header(), wait)
		armError(w, http.StatusTooManyRequests, "TooManyRequests", "the stand-in's "+k+" bucket for this principal is empty, as ARM's would be")
		return
	}
	if remaining >= 0 {
		w.Header().Set("x-ms-ratelimit-remaining-subscription-"+k, strconv.Itoa(remaining))
	}
	s.count(group+"/"+acct, opName(api))
	if s.inject(w, r) {
		return
	}
	req := r.WithContext(context.WithValue(r.Context(), runtime.CtxAPINameKey{}, api))
	resp, err := tr.Do(req)
	if err != nil {
		writeTransportError(w, err)
		return
	}
	defer func() { _ = resp.Body.Close() }() // copied to w below; a close error changes nothing for the caller
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	// The fakes mark a poller's answer for azcore's in-memory fake poller; a client of
	// the stand-in must see what ARM sends, and poll as it would.
	w.Header().Del("Fake-Poller-Status")
	stamp() // the service's clock as it answers, whatever the fake put there
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// transport answers one request: a fake server transport, or a handler of the
// stand-in's own (lro.go).
type transport interface {
	Do(*http.Request) (*http.Response, error)
}

// route maps method and path to the API name the fake transports dispatch on, and
// builds a transport bound to this request. A fresh transport per request keeps no
// pager state between requests: paging is by $skiptoken in the nextLink, as ARM does.
func (s *Server) route(r *http.Request) (api, group, acct string, tr transport, ok bool) {
	// Integration account artifacts, agreements' writes, pipelines, triggers' writes.
	if api, group, acct, tr, ok := s.routeArtifacts(r); ok {
		return api, group, acct, tr, true
	}
	if m := sessionsPath.FindStringSubmatch(r.URL.Path); m != nil {
		group, acct = m[1], m[2]
		srv := s.sessionsServer(r)
		switch {
		case m[3] == "" && r.Method == http.MethodGet:
			api = "IntegrationAccountSessionsClient.NewListPager"
		case m[3] != "" && r.Method == http.MethodGet:
			api = "IntegrationAccountSessionsClient.Get"
		case m[3] != "" && r.Method == http.MethodPut:
			api = "IntegrationAccountSessionsClient.CreateOrUpdate"
		default:
			return "", "", "", nil, false
		}
		return api, group, acct, fake.NewIntegrationAccountSessionsServerTransport(srv), true
	}
	if m := agreementsPath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		group, acct = m[1], m[2]
		api = "IntegrationAccountAgreementsClient.Get"
		if m[3] == "" {
			api = "IntegrationAccountAgreementsClient.NewListPager"
		}
		return api, group, acct, fake.NewIntegrationAccountAgreementsServerTransport(s.agreementsServer()), true
	}
	if m := workflowsPath.FindStringSubmatch(r.URL.Path); m != nil {
		// A workflow belongs to its resource group, not to an account: it is filed under
		// the account "", so that the group's clock and reachability apply to it.
		group = m[1]
		switch {
		case m[3] == "" && r.Method == http.MethodGet:
			api = "WorkflowsClient.Get"
		case strings.EqualFold(m[3], "enable") && r.Method == http.MethodPost:
			api = "WorkflowsClient.Enable"
		case strings.EqualFold(m[3], "disable") && r.Method == http.MethodPost:
			api = "WorkflowsClient.Disable"
		default:
			return "", "", "", nil, false
		}
		return api, group, "", fake.NewWorkflowsServerTransport(s.workflowsServer(r)), true
	}
	return s.routeSSIS(r)
}

func (s *Server) sessionsServer(r *http.Request) *fake.IntegrationAccountSessionsServer {
	base := *r.URL
	base.Scheme, base.Host = "http", r.Host
	skip := r.URL.Query().Get("$skiptoken")
	return &fake.IntegrationAccountSessionsServer{
		Get: func(_ context.Context, group, acct, name string, _ *armlogic.IntegrationAccountSessionsClientGetOptions) (resp azfake.Responder[armlogic.IntegrationAccountSessionsClientGetResponse], errResp azfake.ErrorResponder) {
			cur, ok := s.store.get(group, acct, name)
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "IntegrationAccountSessionNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountSessionsClientGetResponse{IntegrationAccountSession: toARM(r.URL.Path, cur)}, nil)
			return
		},
		CreateOrUpdate: func(_ context.Context, group, acct, name string, body armlogic.IntegrationAccountSession, _ *armlogic.IntegrationAccountSessionsClientCreateOrUpdateOptions) (resp azfake.Responder[armlogic.IntegrationAccountSessionsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
			if body.Properties == nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
				return
			}
			raw, err := json.Marshal(body.Properties.Content)
			if err != nil {
				errResp.SetResponseError(http.StatusBadRequest, "InvalidRequestContent")
				return
			}
			cur := s.store.put(group, acct, name, raw, time.Time{})
			s.recordWrite(group, acct, "sessions.put", cur.name, raw)
			resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountSessionsClientCreateOrUpdateResponse{IntegrationAccountSession: toARM(r.URL.Path, cur)}, nil)
			return
		},
		NewListPager: func(group, acct string, opts *armlogic.IntegrationAccountSessionsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountSessionsClientListResponse]) {
			top := s.PageSize
			var since time.Time
			if opts != nil && opts.Top != nil && *opts.Top > 0 {
				top = int(*opts.Top)
			}
			if opts != nil && opts.Filter != nil && !s.currentFaults().IgnoreFilter {
				m := filterExpr.FindStringSubmatch(*opts.Filter)
				t, err := time.Parse(time.RFC3339Nano, strings.Trim(lastOf(m), "'"))
				if m == nil || err != nil {
					resp.AddResponseError(http.StatusBadRequest, "InvalidFilter")
					return
				}
				since = t
			}
			names, page, more := s.store.page(group, acct, since, skip, top)
			out := armlogic.IntegrationAccountSessionsClientListResponse{}
			for _, cur := range page {
				v := toARM(r.URL.Path+"/"+url.PathEscape(cur.name), cur)
				out.Value = append(out.Value, &v)
			}
			if more {
				next := base
				q := next.Query()
				q.Set("$skiptoken", names[len(names)-1])
				next.RawQuery = q.Encode()
				out.NextLink = to.Ptr(next.String())
			}
			resp.AddPage(http.StatusOK, out, nil)
			return
		},
	}
}

func (s *Server) agreementsServer() *fake.IntegrationAccountAgreementsServer {
	return &fake.IntegrationAccountAgreementsServer{
		Get: func(_ context.Context, group, acct, name string, _ *armlogic.IntegrationAccountAgreementsClientGetOptions) (resp azfake.Responder[armlogic.IntegrationAccountAgreementsClientGetResponse], errResp azfake.ErrorResponder) {
			s.store.mu.Lock()
			a, ok := s.store.account(group, acct).agreements[strings.ToLower(name)]
			s.store.mu.Unlock()
			if !ok {
				errResp.SetResponseError(http.StatusNotFound, "IntegrationAccountAgreementNotFound")
				return
			}
			resp.SetResponse(http.StatusOK, armlogic.IntegrationAccountAgreementsClientGetResponse{IntegrationAccountAgreement: a}, nil)
			return
		},
		NewListPager: func(group, acct string, _ *armlogic.IntegrationAccountAgreementsClientListOptions) (resp azfake.PagerResponder[armlogic.IntegrationAccountAgreementsClientListResponse]) {
			s.store.mu.Lock()
			var out armlogic.IntegrationAccountAgreementsClientListResponse
			for _, a := range s.store.account(group, acct).agreements {
				out.Value = append(out.Value, &a)
			}
			s.store.mu.Unlock()
			resp.AddPage(http.StatusOK, out, nil)
			return
		},
	}
}

// PutAgreement stores an agreement on an account.
func (s *Server) PutAgreement(group, acct string, a armlogic.IntegrationAccountAgreement) {
	s.store.mu.Lock()
	defer s.store.mu.Unlock()
	s.store.account(group, acct).agreements[strings.ToLower(*a.Name)] = a
}

func toARM(id string, cur stored) armlogic.IntegrationAccountSession {
	return armlogic.IntegrationAccountSession{
		ID:   to.Ptr(id),
		Name: to.Ptr(cur.name),
		Type: to.Ptr("Microsoft.Logic/integrationAccounts/sessions"),
		Properties: &armlogic.IntegrationAccountSessionProperties{
			Content:     cur.content,
			CreatedTime: to.Ptr(cur.created),
			ChangedTime: to.Ptr(cur.changed),
		},
	}
}

func lastOf(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

func (s *Server) currentFaults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

func (s *Server) count(acct, op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(acct)
	if s.stats[k] == nil {
		s.stats[k] = map[string]int{}
	}
	s.stats[k][op]++
}

func (s *Server) recordWrite(group, acct, op, name string, content json.RawMessage) {
	at := s.store.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(group, acct)
	s.writes[k] = append(s.writes[k], Write{Op: op, Name: name, At: at, Content: content})
}

// opName shortens an API name to the operation counted in Stats:
// "IntegrationAccountSessionsClient.NewListPager" to "sessions.list",
// "FailoverGroupsClient.BeginFailover" to "failoverGroups.failover".
func opName(api string) string {
	client, method, _ := strings.Cut(api, ".")
	client = lowerFirst(strings.TrimSuffix(strings.TrimPrefix(client, "IntegrationAccount"), "Client"))
	method = strings.TrimPrefix(method, "Begin")
	switch {
	case strings.HasPrefix(method, "NewList"):
		method = "list"
	case method == "CreateOrUpdate":
		method = "put"
	default:
		method = lowerFirst(method)
	}
	return client + "." + method
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// inject applies the configured faults; it reports whether it answered the request.
func (s *Server) inject(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	roll := s.rng.Float64()
	s.mu.Unlock()
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case roll < f.Drop:
		hangUp(w)
		return true
	case roll < f.Drop+f.Throttle:
		w.Header().Set("Retry-After", strconv.Itoa(max(f.RetryAfter, 0)))
		armError(w, http.StatusTooManyRequests, "TooManyRequests", "the stand-in is throttling this request")
		return true
	case roll < f.Drop+f.Throttle+f.ServerError:
		armError(w, http.StatusInternalServerError, "InternalServerError", "the stand-in injected a server error")
		return true
	}
	return false
}

// hangUp closes the request's connection without an answer: the client sees a
// transport error, as from a service it cannot reach.
func hangUp(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func armError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-ms-error-code", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// writeTransportError answers with the status the fake chose (an errResp), or 500.
func writeTransportError(w http.ResponseWriter, err error) {
	status, code := http.StatusInternalServerError, "InternalServerError"
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		status, code = re.StatusCode, re.ErrorCode
	}
	armError(w, status, code, fmt.Sprint(err))
}
