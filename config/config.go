// Package config reads the app's settings (Functions app settings arrive as
// environment variables) and validates them at start-up, naming the bad field.
package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"integration-dr/alert"
	"integration-dr/session"
)

// Config is everything the handler needs.
type Config struct {
	Port  int
	Pairs []Pair
	// SSISPairs are the Azure-SSIS dual-standby pairs; their names are distinct from
	// Pairs' (a command names either).
	SSISPairs []SSISPair
	Budget    Budget
	Engine    Engine
	State     State
	Azure     Azure
	// AlertRules is the allow-list of alert rules that may start an operation.
	AlertRules []alert.Rule
}

// Pair is one disaster-recovery pair of integration accounts.
type Pair struct {
	Name      string
	Primary   string // ARM resource ID of the primary integration account
	Secondary string // ARM resource ID of the secondary integration account
	Kinds     []session.Kind
	Overlap   time.Duration
	Failover  Failover
	// Drift is the pair's allow-list of intended differences (drift reports, mirror).
	Drift Drift
}

// Failover is how plans treat a pair.
type Failover struct {
	// PrimaryWorkflows and SecondaryWorkflows are the Logic Apps workflows (resource
	// IDs) that run only where their side is active: intake and sending. Consumption
	// (Microsoft.Logic/workflows) and Standard (Microsoft.Web/sites/{app}/workflows)
	// workflows may be mixed.
	PrimaryWorkflows   []string
	SecondaryWorkflows []string
	// PrimaryRoutes and SecondaryRoutes are where routers send partners' traffic to
	// each side (resource IDs of Traffic Manager endpoints or Front Door origins):
	// disabled on the old side before its workflows stop, enabled on the new side
	// after its workflows start.
	PrimaryRoutes   []string
	SecondaryRoutes []string
	MinBump         int64
	BlockSize       int64
	Safety          time.Duration
	Settle          time.Duration
	Cooldown        time.Duration
	// RequireDuplicateChecks refuses a target whose agreements do not check received
	// control numbers for duplicates ("refuse"); false only warns ("warn").
	RequireDuplicateChecks bool
	// MaxLag is the replication lag above which readiness reports the pair not ready.
	MaxLag time.Duration
}

// Budget is ARM's per-principal token buckets as the app budgets them, shared by all
// pairs: ARM's reads bucket holds 250 refilling 25 a second, its writes bucket 200
// refilling 10 a second. The defaults refill 5% slower, so that requests admitted on
// time but delayed unevenly on the way do not empty ARM's bucket before ours.
type Budget struct {
	PerSecond      float64
	Burst          int
	ReadsPerSecond float64
	ReadBurst      int
}

// Engine tunes replication runs.
type Engine struct {
	Lease          time.Duration
	Workers        int
	PageSize       int32
	BatchSize      int
	ClockSkew      time.Duration
	ReconcileEvery time.Duration
	// ReadinessEvery is how often the operations timer reruns each pair's readiness
	// report (0: never).
	ReadinessEvery time.Duration
}

// State says where checkpoints live.
type State struct {
	ConnectionString string // AzureWebJobsStorage, when it is a connection string
	TableServiceURL  string // AzureWebJobsStorage__tableServiceUri, for identity-based access
	Table            string
}

// Credential modes.
const (
	CredentialDefault         = "default"         // azidentity's default chain
	CredentialManagedIdentity = "managedidentity" // managed identity, by AZURE_CLIENT_ID if set
	// CredentialLocal sends a fixed token and is refused unless the ARM endpoint is a
	// loopback address: it exists for the local stand-in only.
	CredentialLocal = "local-static-token"
)

// Azure says how to reach and authenticate to Azure Resource Manager.
type Azure struct {
	ARMEndpoint string
	Credential  string
	ClientID    string
}

// IsLoopback reports whether the ARM endpoint is on this machine.
func (a Azure) IsLoopback() bool {
	u, err := url.Parse(a.ARMEndpoint)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

// Setting names, each documented in local.settings.json.example.
const (
	EnvPort        = "FUNCTIONS_CUSTOMHANDLER_PORT"
	EnvTopology    = "DR_TOPOLOGY"
	EnvBudgetRate  = "DR_WRITE_BUDGET_PER_SECOND"
	EnvBudgetBurst = "DR_WRITE_BUDGET_BURST"
	EnvReadRate    = "DR_READ_BUDGET_PER_SECOND"
	EnvReadBurst   = "DR_READ_BUDGET_BURST"
	EnvClockSkew   = "DR_CLOCK_SKEW"
	EnvReconcile   = "DR_RECONCILE_EVERY"
	EnvReadiness   = "DR_READINESS_EVERY"
	EnvLease       = "DR_RUN_LEASE"
	EnvWorkers     = "DR_WRITE_WORKERS"
	EnvPageSize    = "DR_LIST_PAGE_SIZE"
	EnvBatchSize   = "DR_BATCH_SIZE"
	EnvStorage     = "AzureWebJobsStorage"
	EnvTableURL    = "AzureWebJobsStorage__tableServiceUri"
	EnvTable       = "DR_STATE_TABLE"
	EnvARMEndpoint = "DR_ARM_ENDPOINT"
	EnvCredential  = "DR_CREDENTIAL"
	EnvClientID    = "AZURE_CLIENT_ID"
	EnvAlertRules  = alert.Setting
	// Read by the bindings of AlertIntake and RunCommand, not by the handler; checked
	// here so that a typo fails at start-up, not at the first alert.
	EnvCommandQueue = "DR_COMMAND_QUEUE"
	EnvServiceBusNS = "ServiceBusConnection__fullyQualifiedNamespace"
)

// topology is the JSON shape of DR_TOPOLOGY.
type topology struct {
	SSISPairs []ssisPairJSON `json:"ssisPairs"`
	Pairs     []struct {
		Name      string        `json:"name"`
		Primary   string        `json:"primary"`
		Secondary string        `json:"secondary"`
		Kinds     []string      `json:"kinds"`
		Overlap   string        `json:"overlap"`
		Failover  *failoverJSON `json:"failover"`
		Drift     *driftJSON    `json:"drift"`
	} `json:"pairs"`
}

type failoverJSON struct {
	PrimaryWorkflows   []string `json:"primaryWorkflows"`
	SecondaryWorkflows []string `json:"secondaryWorkflows"`
	PrimaryRoutes      []string `json:"primaryRoutes"`
	SecondaryRoutes    []string `json:"secondaryRoutes"`
	MinBump            *int64   `json:"minBump"`
	BlockSize          *int64   `json:"blockSize"`
	Safety             string   `json:"safety"`
	Settle             string   `json:"settle"`
	Cooldown           string   `json:"cooldown"`
	Readiness          string   `json:"readiness"`
	MaxLag             string   `json:"maxLag"`
}

// Failover defaults: a bump of at least 1000 numbers, the connector's default block
// of 100 reserved numbers, five minutes' safety on top of the replication lag, the
// 15 s Microsoft documents for a changed number to take effect, half an hour between
// operations on a pair.
var defaultFailover = Failover{MinBump: 1000, BlockSize: 100, Safety: 5 * time.Minute, Settle: 15 * time.Second, Cooldown: 30 * time.Minute, RequireDuplicateChecks: true, MaxLag: 10 * time.Minute}

// Load reads and validates the settings from getenv. Every problem found is reported,
// each naming its setting.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		Port: p.int(EnvPort, 0, 1, 65535),
		Budget: Budget{
			PerSecond:      p.float(EnvBudgetRate, 9.5, 0.1, 100000),
			Burst:          p.int(EnvBudgetBurst, 200, 1, 100000),
			ReadsPerSecond: p.float(EnvReadRate, 23.75, 0.1, 100000),
			ReadBurst:      p.int(EnvReadBurst, 250, 1, 100000),
		},
		Engine: Engine{
			Lease:          p.duration(EnvLease, 2*time.Minute, time.Second, time.Hour),
			Workers:        p.int(EnvWorkers, 8, 1, 256),
			PageSize:       int32(p.int(EnvPageSize, 200, 1, 5000)),
			BatchSize:      p.int(EnvBatchSize, 500, 1, 100000),
			ClockSkew:      p.duration(EnvClockSkew, 5*time.Second, time.Millisecond, 10*time.Minute),
			ReconcileEvery: p.duration(EnvReconcile, 24*time.Hour, 0, 30*24*time.Hour),
			ReadinessEvery: p.duration(EnvReadiness, time.Hour, 0, 7*24*time.Hour),
		},
		State: State{
			ConnectionString: getenv(EnvStorage),
			TableServiceURL:  getenv(EnvTableURL),
			Table:            p.str(EnvTable, "drstate"),
		},
		Azure: Azure{
			ARMEndpoint: p.str(EnvARMEndpoint, "https://management.azure.com"),
			Credential:  p.str(EnvCredential, CredentialDefault),
			ClientID:    getenv(EnvClientID),
		},
	}
	if c.Engine.ClockSkew*4 > c.Engine.Lease {
		// A run stops a tenth of its lease plus the skew before the lease ends: the
		// skew must leave most of the lease to work in.
		p.fail(EnvClockSkew, fmt.Sprintf("%s is more than a quarter of %s (%s)", c.Engine.ClockSkew, EnvLease, c.Engine.Lease))
	}
	if strings.TrimSpace(getenv(EnvPort)) == "" {
		p.fail(EnvPort, "is required (the Functions host sets it)")
	}
	if c.State.ConnectionString == "" && c.State.TableServiceURL == "" {
		p.fail(EnvStorage, "or "+EnvTableURL+" is required: checkpoints live in Table Storage")
	}
	// The messages below never quote a value: a connection string, key or SAS pasted
	// into the wrong setting would be printed wherever start-up errors go (the host's
	// log, Application Insights, drctl's output). They say what is wrong and what shape
	// is expected instead.
	if !validTableName(c.State.Table) {
		p.fail(EnvTable, "is not a table name (3-63 letters and digits, starting with a letter): "+nameProblem(c.State.Table, 3, 63, isTableNameRune)+notShown)
	} else if !validTableName(c.State.MirrorTable()) {
		p.fail(EnvTable, fmt.Sprintf("is longer than %d characters: the mirrors' journal is the table of this name followed by %q", 63-len(mirrorTableSuffix), mirrorTableSuffix))
	}
	if u := strings.TrimSpace(c.State.TableServiceURL); u != "" {
		if msg := endpointProblem(u); msg != "" {
			p.fail(EnvTableURL, msg+" (want the table endpoint alone, https://<account>.table.core.windows.net: the identity authenticates, no SAS or key)"+notShown)
		}
	}
	if msg := endpointProblem(c.Azure.ARMEndpoint); msg != "" {
		p.fail(EnvARMEndpoint, msg+" (want https://management.azure.com, or http://127.0.0.1:<port> for the local stand-in)"+notShown)
	} else if u, _ := url.Parse(c.Azure.ARMEndpoint); u.Scheme == "http" && !c.Azure.IsLoopback() {
		p.fail(EnvARMEndpoint, "plain http is allowed for a loopback address only")
	}
	switch c.Azure.Credential {
	case CredentialDefault, CredentialManagedIdentity:
	case CredentialLocal:
		if !c.Azure.IsLoopback() {
			p.fail(EnvCredential, CredentialLocal+" is allowed only with a loopback "+EnvARMEndpoint)
		}
	default:
		// A client secret is a credential too: the mode is named, never the value.
		p.fail(EnvCredential, fmt.Sprintf("is not one of %s, %s, %s (a mode, not a secret)", CredentialDefault, CredentialManagedIdentity, CredentialLocal)+notShown)
	}
	if q := getenv(EnvCommandQueue); q != "" && !validQueueName(q) {
		p.fail(EnvCommandQueue, "is not a Service Bus queue name (1-260 letters, digits, '.', '-', '_', '/'): "+nameProblem(q, 1, 260, isQueueNameRune)+notShown)
	}
	if ns := getenv(EnvServiceBusNS); ns != "" && (strings.ContainsAny(ns, ":/ ;=") || !strings.Contains(ns, ".")) {
		msg := "is not a fully qualified namespace: want the host name alone, <namespace>.servicebus.windows.net, without scheme, port or path"
		if looksLikeConnectionString(ns) {
			msg = "holds a connection string, not a fully qualified namespace: want the host name alone, <namespace>.servicebus.windows.net, which the identity signs in to"
		}
		p.fail(EnvServiceBusNS, msg+notShown)
	}
	c.Pairs, c.SSISPairs = p.topology(getenv(EnvTopology))
	if rules, err := alert.ParseRules(getenv(EnvAlertRules)); err != nil {
		p.errs = append(p.errs, err)
	} else if err := alert.BindPairs(rules, c.PairResources); err != nil {
		p.errs = append(p.errs, err)
	} else {
		c.AlertRules = rules
	}
	for i, pair := range c.Pairs {
		if pair.Overlap < c.Engine.ClockSkew {
			// Changes stamped by a node whose clock lags the front end's by up to the
			// skew must still fall inside the next listing.
			p.fail(fmt.Sprintf("%s: pairs[%d].overlap", EnvTopology, i), fmt.Sprintf("%s is less than %s (%s)", pair.Overlap, EnvClockSkew, c.Engine.ClockSkew))
		}
	}
	return c, p.err()
}

// PairResources are the resource IDs of a pair's two sides that its alerts may be
// about: integration accounts and workflows, or SSIS failover groups (with the server
// of a database failover group) and data factories. false: no pair of that name.
func (c Config) PairResources(name string) ([]string, bool) {
	for _, p := range c.Pairs {
		if strings.EqualFold(p.Name, name) {
			ids := []string{p.Primary, p.Secondary}
			ids = append(ids, p.Failover.PrimaryWorkflows...)
			ids = append(ids, p.Failover.SecondaryWorkflows...)
			ids = append(ids, p.Failover.PrimaryRoutes...)
			return append(ids, p.Failover.SecondaryRoutes...), true
		}
	}
	for _, p := range c.SSISPairs {
		if strings.EqualFold(p.Name, name) {
			var ids []string
			for _, s := range []SSISSide{p.Primary, p.Secondary} {
				ids = append(ids, s.FailoverGroup, s.DataFactory)
				// An alert on a database failover group is raised on its server.
				if parts := strings.Split(strings.Trim(s.FailoverGroup, "/"), "/"); len(parts) == 10 && strings.EqualFold(parts[6], "servers") {
					ids = append(ids, "/"+strings.Join(parts[:8], "/"))
				}
			}
			return ids, true
		}
	}
	return nil, false
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(field, msg string) { p.errs = append(p.errs, fmt.Errorf("%s: %s", field, msg)) }

func (p *parser) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %w", errors.Join(p.errs...))
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def, lo, hi int) int {
	return bounded(p, name, "a whole number", def, lo, hi, strconv.Atoi)
}

func (p *parser) float(name string, def, lo, hi float64) float64 {
	return bounded(p, name, "a number", def, lo, hi, func(v string) (float64, error) { return strconv.ParseFloat(v, 64) })
}

func (p *parser) duration(name string, def, lo, hi time.Duration) time.Duration {
	return bounded(p, name, "a duration", def, lo, hi, time.ParseDuration)
}

// bounded reads a setting with parse, or def when it is unset, and reports a value
// outside [lo, hi] as what it should have been.
func bounded[T cmp.Ordered](p *parser, name, what string, def, lo, hi T, parse func(string) (T, error)) T {
	v := strings.TrimSpace(p.getenv(name))
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil || x < lo || x > hi {
		p.fail(name, fmt.Sprintf("%q is not %s from %v to %v", v, what, lo, hi))
		return def
	}
	return x
}

func (p *parser) topology(raw string) ([]Pair, []SSISPair) {
	if strings.TrimSpace(raw) == "" {
		p.fail(EnvTopology, "is required: a JSON object {\"pairs\": [...], \"ssisPairs\": [...]}")
		return nil, nil
	}
	var t topology
	dec := json.NewDecoder(bytes.NewReader([]byte(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		p.fail(EnvTopology, "is not valid JSON of the documented shape: "+err.Error())
		return nil, nil
	}
	if len(t.Pairs) == 0 && len(t.SSISPairs) == 0 {
		p.fail(EnvTopology, "pairs: at least one pair (or one of ssisPairs) is required")
	}
	seen := map[string]bool{}
	var out []Pair
	for i, tp := range t.Pairs {
		field := fmt.Sprintf("%s: pairs[%d]", EnvTopology, i)
		pair := Pair{Name: p.pairName(field+".name", tp.Name, seen), Primary: tp.Primary, Secondary: tp.Secondary, Overlap: 5 * time.Minute}
		for _, side := range []struct{ name, id string }{{"primary", tp.Primary}, {"secondary", tp.Secondary}} {
			if !isIntegrationAccountID(side.id) {
				p.fail(field+"."+side.name, fmt.Sprintf("%q is not an integration account resource ID (/subscriptions/…/resourceGroups/…/providers/Microsoft.Logic/integrationAccounts/…)", side.id))
			}
		}
		if tp.Primary != "" && strings.EqualFold(tp.Primary, tp.Secondary) {
			p.fail(field+".secondary", "is the same account as primary")
		}
		for j, k := range tp.Kinds {
			kind, ok := session.ParseKind(k)
			if !ok {
				p.fail(fmt.Sprintf("%s.kinds[%d]", field, j), fmt.Sprintf("%q is not one of generated, received, as2mic, other", k))
				continue
			}
			pair.Kinds = append(pair.Kinds, kind)
		}
		pair.Failover = p.failover(field+".failover", tp.Failover)
		pair.Drift = p.drift(field+".drift", tp.Drift)
		if tp.Overlap != "" {
			d, err := time.ParseDuration(tp.Overlap)
			if err != nil || d < 0 || d > time.Hour {
				p.fail(field+".overlap", fmt.Sprintf("%q is not a duration from 0s to 1h", tp.Overlap))
			} else {
				pair.Overlap = d
			}
		}
		out = append(out, pair)
	}
	return out, p.ssisPairs("ssisPairs", t.SSISPairs, seen)
}

// pairName checks a pair's name, unique (case-insensitively) across every pair of
// either kind: a command names a pair by it.
func (p *parser) pairName(field, raw string, seen map[string]bool) string {
	name := strings.TrimSpace(raw)
	switch {
	case !validPairName(name):
		p.fail(field, fmt.Sprintf("%q is not a pair name (1-63 letters, digits, '-', '_')", raw))
	case seen[strings.ToLower(name)]:
		p.fail(field, fmt.Sprintf("%q is used by another pair", name))
	}
	seen[strings.ToLower(name)] = true
	return name
}

func (p *parser) failover(field string, f *failoverJSON) Failover {
	out := defaultFailover
	if f == nil {
		return out
	}
	for _, side := range []struct {
		name string
		ids  []string
		dst  *[]string
	}{{"primaryWorkflows", f.PrimaryWorkflows, &out.PrimaryWorkflows}, {"secondaryWorkflows", f.SecondaryWorkflows, &out.SecondaryWorkflows}} {
		for i, id := range side.ids {
			if !IsWorkflowID(id) {
				p.fail(fmt.Sprintf("%s.%s[%d]", field, side.name, i), fmt.Sprintf("%q is not a Logic Apps workflow resource ID (Consumption: /subscriptions/…/resourceGroups/…/providers/Microsoft.Logic/workflows/…; Standard: /subscriptions/…/resourceGroups/…/providers/Microsoft.Web/sites/{app}/workflows/{name})", id))
			}
		}
		*side.dst = side.ids
	}
	p.routes(field, f, &out)
	for _, n := range []struct {
		name string
		v    *int64
		dst  *int64
	}{{"minBump", f.MinBump, &out.MinBump}, {"blockSize", f.BlockSize, &out.BlockSize}} {
		if n.v == nil {
			continue
		}
		if *n.v < 0 || *n.v > 1_000_000_000 {
			p.fail(field+"."+n.name, fmt.Sprintf("%d is not a whole number from 0 to 1000000000", *n.v))
			continue
		}
		*n.dst = *n.v
	}
	for _, d := range []struct {
		name, v string
		dst     *time.Duration
	}{{"safety", f.Safety, &out.Safety}, {"settle", f.Settle, &out.Settle}, {"cooldown", f.Cooldown, &out.Cooldown}, {"maxLag", f.MaxLag, &out.MaxLag}} {
		if d.v == "" {
			continue
		}
		v, err := time.ParseDuration(d.v)
		if err != nil || v < 0 || v > 24*time.Hour {
			p.fail(field+"."+d.name, fmt.Sprintf("%q is not a duration from 0s to 24h", d.v))
			continue
		}
		*d.dst = v
	}
	switch strings.ToLower(f.Readiness) {
	case "", "refuse":
	case "warn":
		out.RequireDuplicateChecks = false
	default:
		p.fail(field+".readiness", fmt.Sprintf("%q is not one of refuse, warn", f.Readiness))
	}
	return out
}

// notShown ends the message of a setting whose value is not quoted.
const notShown = "; the value is not shown, as it may hold a key"

// nameProblem says what is wrong with a name without quoting it: its length, or
// where its first character that is not allowed is.
func nameProblem(s string, lo, hi int, ok func(i int, r rune) bool) string {
	n := len([]rune(s))
	if n < lo || n > hi {
		return fmt.Sprintf("it has %d characters", n)
	}
	for i, r := range []rune(s) {
		if !ok(i, r) {
			return fmt.Sprintf("character %d is not allowed there", i+1)
		}
	}
	return "it is not allowed"
}

// endpointProblem says what is wrong with an endpoint URL without quoting it; ""
// when it is an http(s) URL with a host and no credentials (user info, a query such
// as a SAS, a fragment).
func endpointProblem(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case looksLikeConnectionString(raw):
		return "holds a connection string, not a URL"
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "is not an http(s) URL"
	case u.User != nil:
		return "carries user information (a credential) in the URL"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "carries a query (a SAS?) or fragment"
	}
	return ""
}

// looksLikeConnectionString reports key=value; pairs as connection strings have them.
func looksLikeConnectionString(s string) bool {
	l := strings.ToLower(s)
	for _, k := range []string{"endpoint=", "sharedaccesskey", "accountkey=", "accountname=", "sharedaccesssignature=", "defaultendpointsprotocol=", "usedevelopmentstorage="} {
		if strings.Contains(l, k) {
			return true
		}
	}
	return false
}

func isQueueNameRune(_ int, r rune) bool {
	return r == '.' || r == '-' || r == '_' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}

func isTableNameRune(i int, r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
}

func validQueueName(s string) bool {
	if len(s) == 0 || len(s) > 260 {
		return false
	}
	for i, r := range s {
		if !isQueueNameRune(i, r) {
			return false
		}
	}
	return true
}

func validPairName(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func validTableName(s string) bool {
	if len(s) < 3 || len(s) > 63 {
		return false
	}
	for i, r := range s {
		if !isTableNameRune(i, r) {
			return false
		}
	}
	return true
}

// isIntegrationAccountID checks the shape
// /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Logic/integrationAccounts/{n}.
func isIntegrationAccountID(id string) bool {
	return isResourceID(id, "Microsoft.Logic", "integrationAccounts")
}

// isResourceID checks the shape /subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{n}.
func isResourceID(id, namespace, typ string) bool {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	return len(parts) == 8 &&
		strings.EqualFold(parts[0], "subscriptions") && parts[1] != "" &&
		strings.EqualFold(parts[2], "resourceGroups") && parts[3] != "" &&
		strings.EqualFold(parts[4], "providers") && strings.EqualFold(parts[5], namespace) &&
		strings.EqualFold(parts[6], typ) && parts[7] != "" && strings.HasPrefix(id, "/")
}
