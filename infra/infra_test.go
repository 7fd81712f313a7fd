// The consistency test. Each check reads in-memory copies of the files, so that
// TestEachCheckFailsWhenOneSideChanges can change one side alone and see it fail.

package infra

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"integration-dr/config"
	"integration-dr/handlers"
)

// world is one version of everything the checks compare.
type world struct {
	files     map[string]string // repository-relative path → content
	functions []handlers.Function
	settings  []config.Setting
}

// repoFiles are the files the checks read, as globs relative to the repository root.
var repoFiles = []string{
	"infra/bicep/*.bicep", "infra/bicep/*.bicepparam", "infra/bicep/modules/*.bicep",
	"functions/*/function.json", "host.json", "local.settings.json.example",
	"azure.yaml", "Makefile",
	"azure/logic/*.go", "azure/routing/*.go", "azure/datafactory/*.go", "azure/sqlfg/*.go",
}

func loadWorld(t *testing.T) *world {
	t.Helper()
	w := &world{files: map[string]string{}, functions: handlers.Functions(), settings: config.Settings()}
	for _, pattern := range repoFiles {
		paths, err := filepath.Glob(filepath.Join("..", pattern))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no file matches %s: %v", pattern, err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			w.files[filepath.ToSlash(strings.TrimPrefix(p, ".."+string(filepath.Separator)))] = string(b)
		}
	}
	return w
}

func (w *world) clone() *world {
	c := &world{files: map[string]string{}, settings: append([]config.Setting(nil), w.settings...)}
	for k, v := range w.files {
		c.files[k] = v
	}
	for _, f := range w.functions {
		f.Bindings = append([]handlers.Binding(nil), f.Bindings...)
		c.functions = append(c.functions, f)
	}
	return c
}

// problems collects what a check finds.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// bicep parses infra/bicep/<path>; a file that does not parse is a problem.
func (w *world) bicep(p *problems, path string) *bicepFile {
	src, ok := w.files["infra/bicep/"+path]
	if !ok {
		p.add("infra/bicep/%s is missing", path)
		return &bicepFile{path: path}
	}
	f, err := parseBicep(path, src)
	if err != nil {
		p.add("%v", err)
		return &bicepFile{path: path}
	}
	return f
}

// moduleCall returns main.bicep's module declaration of a module file (one expected).
func moduleCall(p *problems, main *bicepFile, path string) *decl {
	var found []*decl
	for _, d := range main.of("module") {
		if d.typ == path {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		p.add("main.bicep declares module %s %d times, want once", path, len(found))
		return &decl{value: &node{kind: objectNode}}
	}
	return found[0]
}

// arg is the source of the argument a module call passes for a parameter.
func arg(call *decl, param string) string { return call.body().get("params", param).src() }

// appSettings reads main.bicep's appSettings: name → value source.
func appSettings(p *problems, w *world) (map[string]*node, *bicepFile) {
	main := w.bicep(p, "main.bicep")
	v := main.find("var", "appSettings")
	if v == nil || v.value.kind != objectNode {
		p.add("main.bicep: no object var appSettings")
		return map[string]*node{}, main
	}
	out := map[string]*node{}
	for _, f := range v.value.fields {
		if _, dup := out[f.key]; dup {
			p.add("main.bicep: app setting %s set twice", f.key)
		}
		out[f.key] = f.value
	}
	return out, main
}

// identityClientID is the expression for the identity's client ID in main.bicep.
func identityClientID(p *problems, main *bicepFile) string {
	return moduleCall(p, main, "modules/identity.bicep").name + ".outputs.clientId"
}

// checkAppSettings: the app settings infra/bicep writes are exactly what
// config.Settings() says a deployment sets: every setting required in Azure is there,
// nothing is there that no one reads or that must not be set in Azure, fixed values
// (managedidentity, the identity's client ID) are right, and they reach the site.
func checkAppSettings(w *world) problems {
	var p problems
	set, main := appSettings(&p, w)
	byName := map[string]config.Setting{}
	for _, s := range w.settings {
		byName[s.Name] = s
	}
	clientID := identityClientID(&p, main)
	for _, s := range w.settings {
		v, ok := set[s.Name]
		switch {
		case !ok && s.Required(config.SetInAzure):
			p.add("%s is required in Azure and infra/bicep does not set it", s.Name)
		case ok && s.SetIn&config.SetInAzure == 0:
			p.add("%s is set by infra/bicep, but config.Settings() says a deployment must not set it (set in %03b)", s.Name, s.SetIn)
		case ok && s.Deployed == config.IdentityClientID && v.src() != clientID:
			p.add("%s is %s, want the app identity's client ID (%s)", s.Name, v.src(), clientID)
		case ok && s.Deployed != "" && s.Deployed != config.IdentityClientID && v.lit() != s.Deployed:
			p.add("%s is %s, want '%s'", s.Name, v.src(), s.Deployed)
		}
	}
	for name := range set {
		if _, ok := byName[name]; !ok {
			p.add("infra/bicep sets %s, which nothing reads (not in config.Settings())", name)
		}
	}
	// The settings reach the site, and only this way.
	fa := w.bicep(&p, "modules/functionapp.bicep")
	if a := arg(moduleCall(&p, main, "modules/functionapp.bicep"), "appSettings"); a != "appSettings" {
		p.add("main.bicep passes appSettings: %q to the function app, want the appSettings var", a)
	}
	sites := fa.resourcesOf("Microsoft.Web/sites")
	if len(sites) != 1 {
		p.add("modules/functionapp.bicep: %d sites, want 1", len(sites))
	} else if s := sites[0].body().get("properties", "siteConfig", "appSettings"); s == nil || s.kind != forNode || s.forSource != "items(appSettings)" ||
		s.body.get("name").src() != "setting.key" || s.body.get("value").src() != "setting.value" {
		p.add("modules/functionapp.bicep: siteConfig.appSettings must be [for setting in items(appSettings): {name: setting.key, value: setting.value}], is %s", s.src())
	}
	for path := range w.files {
		if strings.HasPrefix(path, "infra/bicep/") && strings.HasSuffix(path, ".bicep") {
			f := w.bicep(&p, strings.TrimPrefix(path, "infra/bicep/"))
			// Authentication settings (the secure webhook) are not app settings; any other
			// site config could replace them.
			for _, r := range f.resourcesOf("Microsoft.Web/sites/config") {
				if r.body().get("name").lit() != "authsettingsV2" {
					p.add("%s sets site config %s outside appSettings", path, r.name)
				}
			}
		}
	}
	return p
}

// localSettings reads local.settings.json.example's Values.
func localSettings(p *problems, w *world) map[string]string {
	var doc struct {
		IsEncrypted bool              `json:"IsEncrypted"`
		Values      map[string]string `json:"Values"`
	}
	dec := json.NewDecoder(strings.NewReader(w.files["local.settings.json.example"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		p.add("local.settings.json.example: %v", err)
	}
	return doc.Values
}

// checkLocalSettings: local.settings.json.example lists every setting a local run
// reads, each explained by a _comment_ key, nothing else, with values the handler
// accepts as they are (Azurite, placeholders where only Azure has a value).
func checkLocalSettings(w *world) problems {
	var p problems
	values := localSettings(&p, w)
	byName := map[string]config.Setting{}
	for _, s := range w.settings {
		byName[s.Name] = s
		if s.SetIn&config.SetLocally == 0 {
			continue
		}
		v, ok := values[s.Name]
		if !ok {
			p.add("local.settings.json.example does not list %s", s.Name)
			continue
		}
		if strings.TrimSpace(values["_comment_"+s.Name]) == "" {
			p.add("local.settings.json.example does not explain %s (_comment_%s)", s.Name, s.Name)
		}
		if s.Required(config.SetLocally) && strings.TrimSpace(v) == "" {
			p.add("local.settings.json.example leaves %s empty; a local run needs it", s.Name)
		}
		if s.Deployed != "" && s.SetIn&config.SetInAzure == 0 && v != s.Deployed {
			p.add("local.settings.json.example sets %s to %q, want %q", s.Name, v, s.Deployed)
		}
	}
	for k, v := range values {
		if name, ok := strings.CutPrefix(k, "_comment_"); ok {
			if _, listed := values[name]; !listed {
				p.add("local.settings.json.example explains %s, which it does not list", name)
			}
			continue
		}
		if s, ok := byName[k]; !ok || s.SetIn&config.SetLocally == 0 {
			p.add("local.settings.json.example lists %s, which is not a local setting in config.Settings()", k)
		}
		if strings.Contains(v, "AccountKey=") || strings.Contains(v, "SharedAccessKey=") {
			p.add("local.settings.json.example: %s holds a key", k)
		}
	}
	if values[config.EnvStorage] != "UseDevelopmentStorage=true" {
		p.add("local.settings.json.example: %s is %q, want UseDevelopmentStorage=true (Azurite)", config.EnvStorage, values[config.EnvStorage])
	}
	// Copied as it is, the handler starts on it (the host adds the port).
	env := map[string]string{config.EnvPort: "7071"}
	for k, v := range values {
		env[k] = v
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		p.add("local.settings.json.example does not load: %v", err)
	}
	return p
}

var secretPatterns = regexp.MustCompile(`(?i)listKeys\(|listConnectionStrings|AccountKey=|SharedAccessKey|primaryKey|connectionString\(|@secure\(\)`)

// checkNoSecrets: no key or connection string with a secret in the app settings or
// outputs; shared keys and local authentication off wherever the app authenticates.
func checkNoSecrets(w *world) problems {
	var p problems
	set, _ := appSettings(&p, w)
	for name, v := range set {
		if secretPatterns.MatchString(v.src()) {
			p.add("app setting %s carries a secret: %s", name, v.src())
		}
	}
	mon := w.bicep(&p, "modules/monitoring.bicep")
	if v, ok := set[config.EnvAppInsights]; ok {
		ai := mon.resourcesOf("Microsoft.Insights/components")
		if len(ai) != 1 || ai[0].body().get("properties", "DisableLocalAuth").src() != "true" {
			p.add("%s is set while Application Insights accepts its key (DisableLocalAuth is not true): %s", config.EnvAppInsights, v.src())
		}
	}
	var paths []string
	for path := range w.files {
		if strings.HasPrefix(path, "infra/bicep/") && strings.HasSuffix(path, ".bicep") {
			paths = append(paths, path)
		}
	}
	sort.Strings(paths)
	for _, path := range paths {
		f := w.bicep(&p, strings.TrimPrefix(path, "infra/bicep/"))
		for _, d := range f.all() {
			if !secretPatterns.MatchString(d.value.src()) {
				continue
			}
			// The action group keeps the key it calls AlertIntake with (README, Deploy).
			if d.keyword == "resource" && d.typ == "Microsoft.Insights/actionGroups" {
				continue
			}
			p.add("%s: %s %s reads or holds a secret", path, d.keyword, d.name)
		}
		for _, r := range f.resourcesOf("Microsoft.Storage/storageAccounts") {
			if r.body().get("properties", "allowSharedKeyAccess").src() != "false" {
				p.add("%s: storage account %s allows shared keys", path, r.name)
			}
		}
		for _, r := range f.resourcesOf("Microsoft.ServiceBus/namespaces") {
			if r.body().get("properties", "disableLocalAuth").src() != "true" {
				p.add("%s: Service Bus namespace %s allows SAS keys", path, r.name)
			}
		}
		for _, r := range f.resourcesOf("Microsoft.Web/sites/basicPublishingCredentialsPolicies") {
			if r.body().get("properties", "allow").src() != "false" {
				p.add("%s: %s allows publishing passwords", path, r.name)
			}
		}
	}
	return p
}

// functionJSON is a function.json as far as the checks read it.
type functionJSON struct {
	Bindings []map[string]any `json:"bindings"`
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// checkBindings: every functions/<Name>/function.json declares exactly the bindings
// handlers.Functions() says the handler decodes and writes (names, types,
// directions, routes, methods, auth level, the settings of schedules and queues, the
// connection), and every %SETTING% and connection is a setting both a deployment and
// a local run set.
func checkBindings(w *world) problems {
	var p problems
	folders := map[string]functionJSON{}
	for path, src := range w.files {
		if dir, ok := strings.CutPrefix(path, "functions/"); ok && strings.HasSuffix(dir, "/function.json") {
			var fj functionJSON
			if err := json.Unmarshal([]byte(src), &fj); err != nil {
				p.add("%s: %v", path, err)
			}
			folders[strings.TrimSuffix(dir, "/function.json")] = fj
		}
	}
	byName := map[string]config.Setting{}
	for _, s := range w.settings {
		byName[s.Name] = s
	}
	known := map[string]bool{}
	for _, fn := range w.functions {
		known[fn.Name] = true
		fj, ok := folders[fn.Name]
		if !ok {
			p.add("handler serves %s, and functions/%s/function.json is missing", fn.Name, fn.Name)
			continue
		}
		declared := map[string]map[string]any{}
		for _, b := range fj.Bindings {
			declared[str(b, "name")] = b
		}
		if len(declared) != len(fj.Bindings) {
			p.add("functions/%s/function.json: two bindings share a name", fn.Name)
		}
		for _, want := range fn.Bindings {
			got, ok := declared[want.Name]
			if !ok {
				p.add("functions/%s/function.json: no binding %q (%s %s), which the handler uses", fn.Name, want.Name, want.Direction, want.Type)
				continue
			}
			delete(declared, want.Name)
			field := func(key, expected string) {
				if g := str(got, key); g != expected {
					p.add("functions/%s/function.json: binding %q %s is %q, the handler expects %q", fn.Name, want.Name, key, g, expected)
				}
			}
			field("type", want.Type)
			field("direction", want.Direction)
			field("connection", want.Connection)
			if want.Route != "" || str(got, "route") != "" {
				field("route", want.Route)
			}
			if want.AuthLevel != "" {
				field("authLevel", want.AuthLevel)
			}
			if want.Setting != "" {
				key := "queueName"
				if want.Type == "timerTrigger" {
					key = "schedule"
				}
				field(key, "%"+want.Setting+"%")
			}
			if len(want.Methods) > 0 {
				var methods []string
				if ms, ok := got["methods"].([]any); ok {
					for _, m := range ms {
						s, _ := m.(string)
						methods = append(methods, strings.ToLower(s))
					}
				}
				sort.Strings(methods)
				expected := append([]string(nil), want.Methods...)
				sort.Strings(expected)
				if strings.Join(methods, ",") != strings.Join(expected, ",") {
					p.add("functions/%s/function.json: methods %v, the handler answers %v", fn.Name, methods, want.Methods)
				}
			}
		}
		for name, b := range declared {
			p.add("functions/%s/function.json: binding %q (%s) is not one the handler uses", fn.Name, name, str(b, "type"))
		}
		// The settings a binding reads are settings every deployment and local run has.
		for _, b := range fj.Bindings {
			for _, k := range []string{"schedule", "queueName"} {
				if m := regexp.MustCompile(`^%(\w+)%$`).FindStringSubmatch(str(b, k)); m != nil {
					s, ok := byName[m[1]]
					if !ok || s.ReadBy&config.ReadByBinding == 0 || !s.Required(config.SetInAzure) || !s.Required(config.SetLocally) {
						p.add("functions/%s/function.json: %s %%%s%% is not a binding setting required in Azure and locally (config.Settings())", fn.Name, k, m[1])
					}
				}
			}
			if c := str(b, "connection"); c != "" {
				for _, suffix := range []string{"__fullyQualifiedNamespace", "__credential", "__clientId"} {
					if s, ok := byName[c+suffix]; !ok || s.ReadBy&config.ReadByBinding == 0 || !s.Required(config.SetInAzure) {
						p.add("functions/%s/function.json: connection %s has no setting %s%s required in Azure", fn.Name, c, c, suffix)
					}
				}
			}
		}
	}
	for name := range folders {
		if !known[name] {
			p.add("functions/%s has no handler (not in handlers.Functions())", name)
		}
	}
	var host struct {
		FunctionTimeout string `json:"functionTimeout"`
		CustomHandler   struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
			EnableForwardingHTTPRequest bool `json:"enableForwardingHttpRequest"`
		} `json:"customHandler"`
		Extensions struct {
			HTTP struct {
				RoutePrefix *string `json:"routePrefix"`
			} `json:"http"`
		} `json:"extensions"`
	}
	if err := json.Unmarshal([]byte(w.files["host.json"]), &host); err != nil {
		p.add("host.json: %v", err)
	}
	if host.CustomHandler.EnableForwardingHTTPRequest {
		p.add("host.json: enableForwardingHttpRequest is true; the handler reads the host's wrapped requests")
	}
	if host.Extensions.HTTP.RoutePrefix != nil && *host.Extensions.HTTP.RoutePrefix != "api" {
		p.add("host.json: routePrefix %q; the action group calls /api/…", *host.Extensions.HTTP.RoutePrefix)
	}
	return p
}

// setting returns the named setting's default, from config.Settings().
func settingDefault(w *world, name string) string {
	for _, s := range w.settings {
		if s.Name == name {
			return s.Default
		}
	}
	return ""
}

// invocationLimit is how long the handler lets one invocation run: the run lease plus
// a minute (app.Build), with the lease infra/bicep sets or its default.
func invocationLimit(p *problems, w *world, set map[string]*node) time.Duration {
	lease := settingDefault(w, config.EnvLease)
	if v, ok := set[config.EnvLease]; ok {
		lease = v.lit()
	}
	d, err := time.ParseDuration(lease)
	if err != nil {
		p.add("%s %q: %v", config.EnvLease, lease, err)
	}
	return d + time.Minute
}

// isoDuration reads the PTnHnMnS durations Bicep files use.
func isoDuration(s string) (time.Duration, bool) {
	m := regexp.MustCompile(`^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$`).FindStringSubmatch(s)
	if m == nil || s == "PT" {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return 0, false
		}
		d += time.Duration(n) * unit
	}
	return d, true
}

// moduleArgument is what main.bicep gives a module property: a module parameter is
// the argument main.bicep's call passes for it, else the parameter's default (nil when
// it has neither); anything else is the property itself.
func moduleArgument(call *decl, module *bicepFile, n *node) *node {
	if n == nil || n.kind != exprNode {
		return n
	}
	if d := module.find("param", n.text); d != nil {
		if a := call.body().get("params", n.text); a != nil {
			return a
		}
		return d.value
	}
	return n
}

// deployedValue is what a module property is deployed with: its moduleArgument, and
// when that is a main.bicep parameter, what main.bicepparam sets, else its default.
func deployedValue(p *problems, w *world, call *decl, module *bicepFile, n *node) *node {
	n = moduleArgument(call, module, n)
	if n == nil || n.kind != exprNode {
		return n
	}
	if d := w.bicep(p, "main.bicep").find("param", n.text); d != nil {
		if given := w.bicep(p, "main.bicepparam").find("param", n.text); given != nil {
			return given.value
		}
		return d.value
	}
	return n
}

// checkWiring: what the bindings name is what infra/bicep creates: the queue (and its
// lock, delivery count and dead-lettering), its namespace, the state table and
// endpoints; the action group calls AlertIntake's route with the common alert schema;
// the failover path (the HTTP group, RunCommand) is kept warm; the example alert rules
// are the allow-listed ones.
func checkWiring(w *world) problems {
	var p problems
	set, main := appSettings(&p, w)
	sbCall := moduleCall(&p, main, "modules/servicebus.bicep")
	sb := w.bicep(&p, "modules/servicebus.bicep")
	if q := set[config.EnvCommandQueue].src(); q == "" || arg(sbCall, "queueName") != q {
		p.add("%s is %q, and the Service Bus module is given queueName %q: one queue, one name", config.EnvCommandQueue, q, arg(sbCall, "queueName"))
	}
	queues := sb.resourcesOf("Microsoft.ServiceBus/namespaces/queues")
	if len(queues) != 1 {
		p.add("modules/servicebus.bicep: %d queues, want 1", len(queues))
	} else {
		// What the queue is deployed with: main.bicep's arguments first, then the
		// module's defaults.
		q := queues[0].body()
		prop := func(keys ...string) *node { return deployedValue(&p, w, sbCall, sb, q.get(keys...)) }
		if name := q.get("name"); name.src() != "queueName" || moduleArgument(sbCall, sb, name).src() != set[config.EnvCommandQueue].src() {
			p.add("modules/servicebus.bicep: the queue is named %s (%s in main.bicep), not the queueName parameter main.bicep gives %s", name.src(), moduleArgument(sbCall, sb, name).src(), config.EnvCommandQueue)
		}
		limit := invocationLimit(&p, w, set)
		if lock, ok := isoDuration(prop("properties", "lockDuration").lit()); !ok || lock < limit {
			p.add("the command queue is deployed with lockDuration %s, shorter than a RunCommand invocation may run (%s)", prop("properties", "lockDuration").src(), limit)
		}
		if prop("properties", "deadLetteringOnMessageExpiration").src() != "true" {
			p.add("the command queue is deployed with deadLetteringOnMessageExpiration %s: an expired command must be dead-lettered (true)", prop("properties", "deadLetteringOnMessageExpiration").src())
		}
		if n := prop("properties", "maxDeliveryCount").src(); n != "10" {
			p.add("the command queue is deployed with maxDeliveryCount %s; the README promises 10", n)
		}
		if prop("properties", "requiresSession").src() != "false" {
			p.add("the command queue is deployed with requiresSession %s: RunCommand's trigger is not session-enabled (false)", prop("properties", "requiresSession").src())
		}
	}
	if got, want := set[config.EnvServiceBusNS].src(), sbCall.name+".outputs.fullyQualifiedNamespace"; got != want || sb.find("output", "fullyQualifiedNamespace") == nil {
		p.add("%s is %s, want %s (an output of modules/servicebus.bicep)", config.EnvServiceBusNS, got, want)
	}
	stCall := moduleCall(&p, main, "modules/storage.bicep")
	st := w.bicep(&p, "modules/storage.bicep")
	for setting, out := range map[string]string{config.EnvTableURL: "tableEndpoint", config.EnvStorage + "__accountName": "name"} {
		if got, want := set[setting].src(), stCall.name+".outputs."+out; got != want || st.find("output", out) == nil {
			p.add("%s is %s, want %s (an output of modules/storage.bicep)", setting, got, want)
		}
	}
	if o := st.find("output", "tableEndpoint"); o != nil && !strings.Contains(o.value.src(), "primaryEndpoints.table") {
		p.add("modules/storage.bicep: output tableEndpoint is %s, not the account's table endpoint", o.value.src())
	}
	if table := set[config.EnvTable].src(); table != "" && arg(stCall, "stateTableName") != table {
		p.add("%s is %s, and the storage module creates table %s", config.EnvTable, table, arg(stCall, "stateTableName"))
	}
	if ts := st.resourcesOf("Microsoft.Storage/storageAccounts/tableServices/tables"); len(ts) != 1 || ts[0].body().get("name").src() != "stateTableName" {
		p.add("modules/storage.bicep: want one table, named by the stateTableName parameter")
	}

	// The action group calls AlertIntake where its binding says, in the common schema.
	var intake handlers.Function
	for _, fn := range w.functions {
		if fn.Name == handlers.FnAlertIntake {
			intake = fn
		}
	}
	route := ""
	for _, b := range intake.Bindings {
		if b.Type == "httpTrigger" {
			route = b.Route
		}
	}
	al := w.bicep(&p, "modules/alerts.bicep")
	groups := al.resourcesOf("Microsoft.Insights/actionGroups")
	if len(groups) == 0 {
		p.add("modules/alerts.bicep: no action group")
	}
	for _, g := range groups {
		receivers := g.body().get("properties", "azureFunctionReceivers")
		url := "httpTriggerUrl"
		if receivers == nil {
			// The secure webhook: a webhook receiver that signs in with Entra ID.
			receivers, url = g.body().get("properties", "webhookReceivers"), "serviceUri"
		}
		if receivers == nil || receivers.kind != arrayNode || len(receivers.items) == 0 {
			p.add("action group %s: no Azure Function receiver (nor a secure webhook receiver)", g.name)
			continue
		}
		for _, r := range receivers.items {
			if url == "httpTriggerUrl" && r.get("functionName").lit() != handlers.FnAlertIntake {
				p.add("action group %s calls function %s, want %s", g.name, r.get("functionName").src(), handlers.FnAlertIntake)
			}
			if url == "serviceUri" && r.get("useAadAuth").src() != "true" {
				p.add("action group %s: a webhook receiver of AlertIntake must sign in with Entra ID (useAadAuth: true)", g.name)
			}
			if u := r.get(url).str; !strings.Contains(u, "/api/"+route+"?") || !strings.Contains(u, "code=") {
				p.add("action group %s posts to %s, and AlertIntake's route is /api/%s, with its function key", g.name, u, route)
			}
			if r.get("useCommonAlertSchema").src() != "true" {
				p.add("action group %s: useCommonAlertSchema must be true (it defaults to false, and AlertIntake refuses other schemas)", g.name)
			}
		}
	}
	if a := arg(moduleCall(&p, main, "modules/alerts.bicep"), "functionAppId"); a != moduleCall(&p, main, "modules/functionapp.bicep").name+".outputs.id" {
		p.add("the alerts module is given functionAppId %s, not the function app's", a)
	}
	// Allow-listed example rules are the ones created.
	if v := set[config.EnvAlertRules].src(); !strings.Contains(v, "allowList") {
		p.add("%s is %s; want it built from the allowList var", config.EnvAlertRules, v)
	}
	if a := main.find("var", "allowList"); a == nil || !strings.Contains(a.value.src(), "exampleFailoverRules") || !strings.Contains(a.value.src(), "alertRules") {
		p.add("main.bicep: allowList must join the alertRules parameter and exampleFailoverRules")
	}
	if a := arg(moduleCall(&p, main, "modules/alerts.bicep"), "failoverRules"); a != "exampleFailoverRules" {
		p.add("the alerts module is given failoverRules %s, not the allow-listed exampleFailoverRules", a)
	}
	for _, typ := range []string{"Microsoft.Insights/metricAlerts", "Microsoft.Insights/activityLogAlerts"} {
		for _, r := range al.resourcesOf(typ) {
			if r.value.kind != forNode && !strings.Contains(r.body().get("name").src(), "r.") {
				continue // one of the alerts an operator expects, not allow-listed (checkOperatorAlerts)
			}
			src := r.value.forSource
			if r.value.kind != forNode || r.body().get("name").src() != "r.rule" || !strings.Contains(resolveVar(al, src), "failoverRules") {
				p.add("modules/alerts.bicep: %s %s must be named r.rule for r in the failoverRules it is given", typ, r.name)
			}
			// The allow-list names each rule by the resource ID it is created with.
			if want := "r.ruleType == '" + typ[strings.LastIndex(typ, "/")+1:] + "'"; !strings.Contains(resolveVar(al, src), want) {
				p.add("modules/alerts.bicep: %s %s loops over %s, not the failoverRules whose %s: the allow-list would name it by another resource ID", typ, r.name, resolveVar(al, src), want)
			}
		}
	}
	const ruleID = "ruleId: '${subscription().id}/resourceGroups/${rgName}/providers/Microsoft.Insights/${r.ruleType}/${r.rule}'"
	if a := main.find("var", "allowList"); a == nil || !strings.Contains(a.value.src(), ruleID) {
		p.add("main.bicep: allowList must name each example rule by its resource ID, %s", ruleID)
	}
	if scope := moduleCall(&p, main, "modules/alerts.bicep").body().get("scope").src(); scope == "" || main.find("resource", scope) == nil || main.find("resource", scope).body().get("name").src() != "rgName" {
		p.add("the alerts module is deployed to %s, not the resource group rgName that the allow-listed rule IDs name", scope)
	}
	return p
}

// checkSecureWebhook: the secure webhook is an option, off by default, that main.bicep
// passes to both modules as one parameter. Off, the action group with the function key
// alone is deployed; on, the one whose webhook receiver signs in with Entra ID to the
// app registration, and App Service authentication on the function app that checks
// that token's audience on AlertIntake's route; the alert rules notify whichever is
// deployed.
func checkSecureWebhook(w *world) problems {
	var p problems
	main := w.bicep(&p, "main.bicep")
	if d := main.find("param", "secureWebhook"); d == nil || d.typ != "bool" || d.value.src() != "false" {
		p.add("main.bicep: want param secureWebhook bool = false: the function key is the default")
	}
	for _, m := range []string{"modules/alerts.bicep", "modules/functionapp.bicep"} {
		if a := arg(moduleCall(&p, main, m), "secureWebhook"); a != "secureWebhook" {
			p.add("main.bicep gives %s secureWebhook %q, not the secureWebhook parameter", m, a)
		}
		if a := arg(moduleCall(&p, main, m), "webhookAppIdentifierUri"); a != "webhookAppIdentifierUri" {
			p.add("main.bicep gives %s webhookAppIdentifierUri %q, not the webhookAppIdentifierUri parameter", m, a)
		}
	}
	al := w.bicep(&p, "modules/alerts.bicep")
	if d := al.find("param", "secureWebhook"); d == nil || d.value.src() != "false" {
		p.add("modules/alerts.bicep: want param secureWebhook bool = false")
	}
	var keyOnly, secure *decl
	for _, g := range al.resourcesOf("Microsoft.Insights/actionGroups") {
		switch g.cond {
		case "!secureWebhook":
			keyOnly = g
		case "secureWebhook":
			secure = g
		default:
			p.add("modules/alerts.bicep: action group %s is deployed if (%s), not on secureWebhook alone", g.name, g.cond)
		}
	}
	if keyOnly == nil || keyOnly.body().get("properties", "azureFunctionReceivers") == nil {
		p.add("modules/alerts.bicep: no action group with the Azure Function receiver if (!secureWebhook)")
	}
	if secure == nil {
		p.add("modules/alerts.bicep: no secure-webhook action group if (secureWebhook)")
	} else if r := secure.body().get("properties", "webhookReceivers"); r == nil || len(r.items) != 1 ||
		r.items[0].get("useAadAuth").src() != "true" || r.items[0].get("objectId").src() != "webhookAppObjectId" || r.items[0].get("identifierUri").src() != "webhookAppIdentifierUri" {
		p.add("modules/alerts.bicep: the secure action group's webhook receiver must have useAadAuth: true, objectId: webhookAppObjectId, identifierUri: webhookAppIdentifierUri")
	}
	if keyOnly != nil && secure != nil {
		if v := al.find("var", "intakeGroupId"); v == nil || v.value.src() != "secureWebhook ? "+secure.name+".id : "+keyOnly.name+".id" {
			p.add("modules/alerts.bicep: want var intakeGroupId = secureWebhook ? %s.id : %s.id, the group deployed", secure.name, keyOnly.name)
		}
	}
	for _, typ := range []string{"Microsoft.Insights/metricAlerts", "Microsoft.Insights/activityLogAlerts", "Microsoft.Insights/scheduledQueryRules"} {
		for _, r := range al.resourcesOf(typ) {
			if src := r.body().get("properties", "actions").src(); !strings.Contains(src, "intakeGroupId") {
				p.add("modules/alerts.bicep: %s %s notifies %s, not intakeGroupId", typ, r.name, src)
			}
		}
	}
	fa := w.bicep(&p, "modules/functionapp.bicep")
	var auth *decl
	for _, r := range fa.resourcesOf("Microsoft.Web/sites/config") {
		if r.body().get("name").lit() == "authsettingsV2" {
			auth = r
		}
	}
	if auth == nil || auth.cond != "secureWebhook" {
		p.add("modules/functionapp.bicep: want authsettingsV2 deployed if (secureWebhook)")
		return p
	}
	b := auth.body().get("properties")
	if b.get("globalValidation", "requireAuthentication").src() != "true" || b.get("globalValidation", "unauthenticatedClientAction").lit() != "Return401" {
		p.add("modules/functionapp.bicep: authsettingsV2 must require authentication and answer 401 without a token")
	}
	for _, x := range b.get("globalValidation", "excludedPaths").stringItems() {
		if strings.Contains(strings.ToLower(x), "alert") || x == "/" || x == "/api" || x == "/api/" {
			p.add("modules/functionapp.bicep: authsettingsV2 excludes %s, so AlertIntake takes alerts without a token", x)
		}
	}
	aad := b.get("identityProviders", "azureActiveDirectory")
	audiences := aad.get("validation", "allowedAudiences")
	if aad.get("enabled").src() != "true" || audiences == nil || len(audiences.items) != 1 || audiences.items[0].src() != "webhookAppIdentifierUri" {
		p.add("modules/functionapp.bicep: authsettingsV2 must accept Entra tokens whose audience is webhookAppIdentifierUri, is %s", aad.get("validation", "allowedAudiences").src())
	}
	return p
}

// resolveVar is a var's source, or the expression itself.
func resolveVar(f *bicepFile, expr string) string {
	if d := f.find("var", expr); d != nil {
		return d.value.src()
	}
	return expr
}

// checkPlan: a Flex Consumption plan (see README, Deploy), the custom runtime, the
// package deployed with the identity, and the failover path kept warm; host.json's
// timeout outlasts an invocation.
func checkPlan(w *world) problems {
	var p problems
	set, main := appSettings(&p, w)
	fa := w.bicep(&p, "modules/functionapp.bicep")
	plans := fa.resourcesOf("Microsoft.Web/serverfarms")
	if len(plans) != 1 || plans[0].body().get("sku", "tier").lit() != "FlexConsumption" || plans[0].body().get("sku", "name").lit() != "FC1" {
		p.add("modules/functionapp.bicep: want one Flex Consumption (FC1) plan")
	}
	sites := fa.resourcesOf("Microsoft.Web/sites")
	if len(sites) != 1 {
		return append(p, "modules/functionapp.bicep: want one site")
	}
	site := sites[0].body()
	cfg := site.get("properties", "functionAppConfig")
	if got := cfg.get("runtime", "name").lit(); got != config.WorkerRuntimeCustom {
		p.add("function app runtime %q, want %q (%s for a custom handler)", got, config.WorkerRuntimeCustom, config.EnvWorkerRuntime)
	}
	if cfg.get("deployment", "storage", "authentication", "type").lit() != "UserAssignedIdentity" {
		p.add("the deployment package must be read with the user-assigned identity")
	}
	if site.get("identity", "type").lit() != "UserAssigned" {
		p.add("the site's identity must be the user-assigned one (AZURE_CLIENT_ID names it)")
	}
	warm := map[string]bool{}
	if ar := cfg.get("scaleAndConcurrency", "alwaysReady"); ar != nil {
		for _, it := range ar.items {
			warm[it.get("name").lit()] = true
		}
	}
	if !warm["function:"+handlers.FnRunCommand] || !warm["http"] {
		p.add("alwaysReady must keep the HTTP group (AlertIntake) and function:%s warm: they are the failover's path", handlers.FnRunCommand)
	}
	if loc := arg(moduleCall(&p, main, "modules/functionapp.bicep"), "location"); loc != "location" {
		p.add("the function app is placed in %s, not the location parameter (the secondary region)", loc)
	}
	if d := main.find("param", "location"); d == nil || !strings.Contains(strings.Join(d.decorators, " "), "SECONDARY") {
		p.add("main.bicep: the location parameter must say it is the secondary region")
	}
	var host struct {
		FunctionTimeout string `json:"functionTimeout"`
	}
	_ = json.Unmarshal([]byte(w.files["host.json"]), &host)
	var h, m, s int
	if _, err := fmt.Sscanf(host.FunctionTimeout, "%d:%d:%d", &h, &m, &s); err != nil {
		p.add("host.json functionTimeout %q: %v", host.FunctionTimeout, err)
	} else if limit, timeout := invocationLimit(&p, w, set), time.Duration(h)*time.Hour+time.Duration(m)*time.Minute+time.Duration(s)*time.Second; timeout < limit {
		p.add("host.json functionTimeout %s is shorter than an invocation may run (%s)", timeout, limit)
	}
	return p
}

// checkParameters: main.bicepparam sets every parameter main.bicep needs and no other;
// the topology, alert allow-list, queue and schedules come from parameters; and the
// example topology and allow-list load in config.Load.
func checkParameters(w *world) problems {
	var p problems
	set, main := appSettings(&p, w)
	params := w.bicep(&p, "main.bicepparam")
	if u := params.of("using"); len(u) != 1 || u[0].name != "main.bicep" {
		p.add("main.bicepparam must be `using 'main.bicep'`")
	}
	given := map[string]*decl{}
	for _, d := range params.of("param") {
		given[d.name] = d
		if main.find("param", d.name) == nil {
			p.add("main.bicepparam sets %s, which main.bicep does not declare", d.name)
		}
	}
	for _, d := range main.of("param") {
		if d.value == nil && given[d.name] == nil {
			p.add("main.bicepparam does not set %s, which has no default", d.name)
		}
	}
	for _, name := range []string{config.EnvTopology, config.EnvAlertRules, config.EnvCommandQueue, config.EnvReplicationSchedule, config.EnvOperationsSchedule, config.EnvSSISSchedule} {
		expanded := expandVars(main, set[name].src())
		fromParam := false
		for _, d := range main.of("param") {
			if regexp.MustCompile(`\b` + d.name + `\b`).MatchString(expanded) {
				fromParam = true
			}
		}
		if !fromParam {
			p.add("%s is %s: it must come from a main.bicep parameter", name, set[name].src())
		}
	}
	if m := regexp.MustCompile(`^string\((\w+)\)$`).FindStringSubmatch(set[config.EnvTopology].src()); m == nil || main.find("param", m[1]) == nil {
		p.add("%s must be string(<the topology parameter>), is %s", config.EnvTopology, set[config.EnvTopology].src())
	}
	// The example loads as the handler would load it.
	env := map[string]string{config.EnvPort: "7071", config.EnvTableURL: "https://example.table.core.windows.net/"}
	vars := map[string]string{}
	for _, d := range params.of("var") {
		vars[d.name] = evalString(d.value, vars)
	}
	if d := given["topology"]; d != nil {
		b, err := json.Marshal(toJSON(d.value, vars))
		if err != nil {
			p.add("main.bicepparam topology: %v", err)
		}
		env[config.EnvTopology] = string(b)
	}
	if d := given["alertRules"]; d != nil {
		b, _ := json.Marshal(map[string]any{"rules": toJSON(d.value, vars)})
		env[config.EnvAlertRules] = string(b)
	}
	if _, err := config.Load(func(k string) string { return env[k] }); err != nil {
		p.add("main.bicepparam's example does not load: %v", err)
	}
	return p
}

// expandVars appends to expr the source of every main.bicep var it names, recursively.
func expandVars(f *bicepFile, expr string) string {
	seen := map[string]bool{}
	out := expr
	for changed := true; changed; {
		changed = false
		for _, d := range f.of("var") {
			if !seen[d.name] && regexp.MustCompile(`\b`+d.name+`\b`).MatchString(out) {
				seen[d.name] = true
				out += "\n" + d.value.src()
				changed = true
			}
		}
	}
	return out
}

// evalString evaluates the string forms a .bicepparam uses: literals with ${var}, and
// readEnvironmentVariable('NAME', 'default') as its default.
func evalString(n *node, vars map[string]string) string {
	if n == nil {
		return ""
	}
	if n.kind == stringNode {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(n.str, func(m string) string { return vars[m[2:len(m)-1]] })
	}
	if m := regexp.MustCompile(`^readEnvironmentVariable\('[^']*', '([^']*)'\)$`).FindStringSubmatch(n.text); m != nil {
		return m[1]
	}
	return vars[n.text]
}

// toJSON turns a .bicepparam value into what ARM would give the template.
func toJSON(n *node, vars map[string]string) any {
	switch n.kind {
	case objectNode:
		m := map[string]any{}
		for _, f := range n.fields {
			m[f.key] = toJSON(f.value, vars)
		}
		return m
	case arrayNode:
		a := []any{}
		for _, it := range n.items {
			a = append(a, toJSON(it, vars))
		}
		return a
	case stringNode:
		return evalString(n, vars)
	}
	var v any
	if json.Unmarshal([]byte(n.text), &v) == nil {
		return v
	}
	return evalString(n, vars)
}

// checkPackaging: `make package` builds what host.json starts (the handler for
// linux/amd64, static, without the standin tag) into dist/app with host.json and the
// function folders; azure.yaml deploys that folder to a function host after running
// it; `make deploy` provisions main.bicep and zip-deploys dist/app.zip.
func checkPackaging(w *world) problems {
	var p problems
	mk := w.files["Makefile"]
	target := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `:.*\n((?:\t.*\n|#.*\n)*)`).FindStringSubmatch(mk)
		if m == nil {
			p.add("Makefile: no %s target", name)
			return ""
		}
		return m[1]
	}
	pkgDir := ""
	if m := regexp.MustCompile(`(?m)^PKG_DIR\s*:?=\s*(\S+)`).FindStringSubmatch(mk); m != nil {
		pkgDir = m[1]
	}
	if pkgDir != "dist/app" {
		p.add("Makefile: PKG_DIR is %q, want dist/app", pkgDir)
	}
	pkg := target("package")
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	_ = json.Unmarshal([]byte(w.files["host.json"]), &host)
	exe := host.CustomHandler.Description.DefaultExecutablePath
	build := regexp.MustCompile(`(?m)^\t.*\bgo build\b.*$|^\t.*\$\(GO\) build\b.*$`).FindString(pkg)
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "-o $(PKG_DIR)/" + exe + " ", "./cmd/handler"} {
		if !strings.Contains(build+" ", want) {
			p.add("Makefile package: the build %q lacks %q (host.json starts %q)", strings.TrimSpace(build), want, exe)
		}
	}
	if strings.Contains(build, "-tags") {
		p.add("Makefile package: the deployable handler must not be built with build tags (standin is for tests)")
	}
	for _, want := range []string{"cp host.json $(PKG_DIR)", "cp -R functions/. $(PKG_DIR)", "zip"} {
		if !strings.Contains(pkg, want) {
			p.add("Makefile package: lacks %q", want)
		}
	}
	deploy := target("deploy")
	for _, want := range []string{"az deployment sub create", "infra/bicep/main.bicep", "infra/bicep/main.bicepparam", "config-zip", "dist/app.zip"} {
		if !strings.Contains(deploy, want) {
			p.add("Makefile deploy: lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^deploy:.*\bpackage\b`).MatchString(mk) {
		p.add("Makefile deploy must depend on package")
	}
	// azure.yaml, read line by line (its shape is fixed here).
	yml := w.files["azure.yaml"]
	for _, want := range []string{
		`(?m)^infra:\n(?:  .*\n)*  path: infra/bicep$`,
		`(?m)^services:\n  app:\n(?:    .*\n)*    project: \.$`,
		`(?m)^    host: function$`,
		`(?m)^    language: custom$`,
		`(?m)^    dist: ` + regexp.QuoteMeta(pkgDir) + `$`,
		`(?m)^      prepackage:\n(?:        .*\n)*?[ ]+run: make package$`,
	} {
		if !regexp.MustCompile(want).MatchString(yml) {
			p.add("azure.yaml does not match %s", want)
		}
	}
	return p
}

type namedCheck struct {
	name string
	run  func(*world) problems
}

var checks = []namedCheck{
	{"app settings", checkAppSettings},
	{"local settings", checkLocalSettings},
	{"no secrets", checkNoSecrets},
	{"bindings", checkBindings},
	{"handler decodes", checkHandlerDecodes},
	{"wiring", checkWiring},
	{"secure webhook", checkSecureWebhook},
	{"operator alerts", checkOperatorAlerts},
	{"roles", checkRoles},
	{"plan", checkPlan},
	{"parameters", checkParameters},
	{"packaging", checkPackaging},
}

func TestInfrastructureAgreesWithTheCode(t *testing.T) {
	w := loadWorld(t)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, problem := range c.run(w) {
				t.Error(problem)
			}
		})
	}
}

// edit replaces old with new in a file of w; the mutation must apply.
func edit(t *testing.T, w *world, path, old, new string) {
	t.Helper()
	src, ok := w.files[path]
	if !ok {
		t.Fatalf("no file %s", path)
	}
	if !strings.Contains(src, old) {
		t.Fatalf("%s does not contain %q: the mutation would not change anything", path, old)
	}
	w.files[path] = strings.Replace(src, old, new, 1)
}

// editJSON changes local.settings.json.example's Values.
func editValues(t *testing.T, w *world, change func(map[string]string)) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(w.files["local.settings.json.example"]), &doc); err != nil {
		t.Fatal(err)
	}
	values := map[string]string{}
	for k, v := range doc["Values"].(map[string]any) {
		values[k] = v.(string)
	}
	change(values)
	doc["Values"] = values
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(doc)
	w.files["local.settings.json.example"] = b.String()
}

func binding(t *testing.T, w *world, fn, name string) *handlers.Binding {
	t.Helper()
	for i := range w.functions {
		if w.functions[i].Name == fn {
			for j := range w.functions[i].Bindings {
				if w.functions[i].Bindings[j].Name == name {
					return &w.functions[i].Bindings[j]
				}
			}
		}
	}
	t.Fatalf("no binding %s of %s", name, fn)
	return nil
}

func TestEachCheckFailsWhenOneSideChanges(t *testing.T) {
	const (
		mainBicep  = "infra/bicep/main.bicep"
		params     = "infra/bicep/main.bicepparam"
		fnApp      = "infra/bicep/modules/functionapp.bicep"
		storage    = "infra/bicep/modules/storage.bicep"
		serviceBus = "infra/bicep/modules/servicebus.bicep"
		monitoring = "infra/bicep/modules/monitoring.bicep"
		alerts     = "infra/bicep/modules/alerts.bicep"
		roles      = "infra/bicep/modules/roles.bicep"
		iaAccess   = "infra/bicep/modules/access-integration-account.bicep"
		runCommand = "functions/RunCommand/function.json"
		intake     = "functions/AlertIntake/function.json"
		workflows  = "azure/logic/workflows.go"
	)
	mutations := []struct {
		check  string
		name   string
		mutate func(t *testing.T, w *world)
	}{
		// the allow-list names the example rules by the IDs they are created with
		{"wiring", "the allow-list names example rules in another resource group", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "/resourceGroups/${rgName}/providers/Microsoft.Insights/${r.ruleType}", "/resourceGroups/rg-alerts/providers/Microsoft.Insights/${r.ruleType}")
		}},
		{"wiring", "alerts.bicep creates an account rule as another type than the allow-list names", func(t *testing.T, w *world) {
			edit(t, w, alerts, "r => r.ruleType == 'activityLogAlerts'", "r => r.ruleType == 'metricAlerts'")
		}},
		// the secure webhook is an option, off by default, and covers AlertIntake
		{"secure webhook", "main.bicep turns the secure webhook on by default", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "param secureWebhook bool = false", "param secureWebhook bool = true")
		}},
		{"secure webhook", "App Service authentication lets alerts in without a token", func(t *testing.T, w *world) {
			edit(t, w, fnApp, "        '/api/status'\n", "        '/api/status'\n        '/api/alert'\n")
		}},
		{"secure webhook", "the secure receiver does not sign in with Entra ID", func(t *testing.T, w *world) {
			edit(t, w, alerts, "        useAadAuth: true\n", "        useAadAuth: false\n")
		}},
		{"secure webhook", "an alert rule notifies the key-only group whatever the option", func(t *testing.T, w *world) {
			edit(t, w, alerts, "        actionGroupId: intakeGroupId", "        actionGroupId: intake.id")
		}},
		{"secure webhook", "App Service authentication accepts another audience", func(t *testing.T, w *world) {
			edit(t, w, fnApp, "            webhookAppIdentifierUri\n", "            'api://anything'\n")
		}},
		{"secure webhook", "the function app is not given the option", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    maximumInstanceCount: maximumInstanceCount\n    secureWebhook: secureWebhook\n", "    maximumInstanceCount: maximumInstanceCount\n    secureWebhook: false\n")
		}},
		// the alerts an operator expects read what the handler logs
		{"operator alerts", "the lag query reads a field the handler does not log", func(t *testing.T, w *world) {
			edit(t, w, alerts, "lagSeconds = todouble(e.lagSeconds)", "lagSeconds = todouble(e.lag)")
		}},
		{"operator alerts", "the operations query reads another function's telemetry", func(t *testing.T, w *world) {
			edit(t, w, alerts, "operation_Name in ('RunCommand', 'AdvanceOperations')", "operation_Name in ('RunCommand', 'AdvanceOperation')")
		}},
		{"operator alerts", "the operations query picks an event the handler does not log", func(t *testing.T, w *world) {
			edit(t, w, alerts, "tostring(e.event) == 'operation'", "tostring(e.event) == 'operations'")
		}},
		{"operator alerts", "the replication-stopped rule counts failed runs", func(t *testing.T, w *world) {
			edit(t, w, alerts, "success == true", "success == false")
		}},
		{"operator alerts", "the lag rule splits by a column its query drops", func(t *testing.T, w *world) {
			edit(t, w, alerts, "| project timestamp, pair, lagSeconds", "| project timestamp, lagSeconds")
		}},
		{"operator alerts", "the dead-letter alert watches another queue", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    commandQueueName: serviceBus.outputs.queueName\n", "    commandQueueName: 'dr-commands-old'\n")
		}},
		{"operator alerts", "sampling may drop the requests the replication-stopped rule counts", func(t *testing.T, w *world) {
			edit(t, w, "host.json", `"excludedTypes": "Request;Trace"`, `"excludedTypes": "Trace"`)
		}},
		{"operator alerts", "the lag threshold drifts from the topology's maxLag", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "param maxLagSeconds int = 600", "param maxLagSeconds int = 900")
		}},
		// app settings: code ↔ Bicep
		{"app settings", "Bicep drops DR_TOPOLOGY", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_TOPOLOGY: string(topology)\n", "")
		}},
		{"app settings", "Bicep drops a binding's schedule (DR_SSIS_SCHEDULE)", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_SSIS_SCHEDULE: ssisSchedule\n", "")
		}},
		{"app settings", "Bicep sets a setting nothing reads", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_CREDENTIAL: 'managedidentity'\n", "  DR_CREDENTIAL: 'managedidentity'\n  DR_RETRY_POLICY: 'aggressive'\n")
		}},
		{"app settings", "Bicep sets a storage connection string", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_CREDENTIAL: 'managedidentity'\n", "  DR_CREDENTIAL: 'managedidentity'\n  AzureWebJobsStorage: storage.outputs.name\n")
		}},
		{"app settings", "Bicep sets FUNCTIONS_WORKER_RUNTIME (refused on Flex Consumption)", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_CREDENTIAL: 'managedidentity'\n", "  DR_CREDENTIAL: 'managedidentity'\n  FUNCTIONS_WORKER_RUNTIME: 'custom'\n")
		}},
		{"app settings", "the handler's credential is not the managed identity", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_CREDENTIAL: 'managedidentity'", "  DR_CREDENTIAL: 'default'")
		}},
		{"app settings", "Service Bus's client ID is not the app identity's", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  ServiceBusConnection__clientId: identity.outputs.clientId", "  ServiceBusConnection__clientId: identity.outputs.principalId")
		}},
		{"app settings", "the code reads a new required setting", func(t *testing.T, w *world) {
			w.settings = append(w.settings, config.Setting{Name: "DR_NEW", ReadBy: config.ReadByHandler, SetIn: config.SetInAzure | config.SetLocally, RequiredIn: config.SetInAzure})
		}},
		{"app settings", "the function app takes its settings from elsewhere", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    appSettings: appSettings\n", "    appSettings: {}\n")
		}},
		// local.settings.json.example ↔ code
		{"local settings", "the example loses DR_SSIS_SCHEDULE", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { delete(v, config.EnvSSISSchedule) })
		}},
		{"local settings", "the example lists a setting nothing reads", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { v["DR_OLD_SETTING"] = "1"; v["_comment_DR_OLD_SETTING"] = "gone" })
		}},
		{"local settings", "a setting is not explained", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { delete(v, "_comment_"+config.EnvCommandQueue) })
		}},
		{"local settings", "the example's storage is not Azurite", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { v[config.EnvStorage] = "" })
		}},
		{"local settings", "the example's worker runtime is not custom", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { v[config.EnvWorkerRuntime] = "node" })
		}},
		{"local settings", "the example does not load", func(t *testing.T, w *world) {
			editValues(t, w, func(v map[string]string) { v[config.EnvCredential] = "local-static-token" })
		}},
		// secrets
		{"no secrets", "an app setting carries a storage key", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  AzureWebJobsStorage__accountName: storage.outputs.name", "  AzureWebJobsStorage__accountName: listKeys(storage.outputs.id, '2023-05-01').keys[0].value")
		}},
		{"no secrets", "the storage account allows shared keys", func(t *testing.T, w *world) {
			edit(t, w, storage, "allowSharedKeyAccess: false", "allowSharedKeyAccess: true")
		}},
		{"no secrets", "Service Bus allows SAS keys", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "disableLocalAuth: true", "disableLocalAuth: false")
		}},
		{"no secrets", "Application Insights accepts its key", func(t *testing.T, w *world) {
			edit(t, w, monitoring, "DisableLocalAuth: true", "DisableLocalAuth: false")
		}},
		{"no secrets", "an output exposes a key", func(t *testing.T, w *world) {
			edit(t, w, storage, "output name string = storage.name", "output name string = storage.name\noutput key string = storage.listKeys().keys[0].value")
		}},
		// function.json ↔ handler
		{"bindings", "function.json renames the command binding", func(t *testing.T, w *world) {
			edit(t, w, runCommand, `"name": "command"`, `"name": "cmd"`)
		}},
		{"bindings", "function.json takes the queue name from another setting", func(t *testing.T, w *world) {
			edit(t, w, runCommand, `%DR_COMMAND_QUEUE%`, `%DR_QUEUE%`)
		}},
		{"bindings", "function.json uses another connection", func(t *testing.T, w *world) {
			edit(t, w, intake, `"connection": "ServiceBusConnection"`, `"connection": "AzureWebJobsServiceBus"`)
		}},
		{"bindings", "function.json changes AlertIntake's route", func(t *testing.T, w *world) {
			edit(t, w, intake, `"route": "alert"`, `"route": "alerts"`)
		}},
		{"bindings", "function.json lets AlertIntake answer GET", func(t *testing.T, w *world) {
			edit(t, w, intake, `"methods": ["post"]`, `"methods": ["get", "post"]`)
		}},
		{"bindings", "a function folder without a handler", func(t *testing.T, w *world) {
			w.files["functions/Purge/function.json"] = `{"bindings": [{"name": "timer", "type": "timerTrigger", "direction": "in", "schedule": "0 0 * * * *"}]}`
		}},
		{"bindings", "a timer's schedule setting changes in the code only", func(t *testing.T, w *world) {
			binding(t, w, handlers.FnReconcileSSIS, "timer").Setting = "DR_SSIS_CRON"
		}},
		{"bindings", "host.json forwards HTTP requests unwrapped", func(t *testing.T, w *world) {
			edit(t, w, "host.json", `"enableForwardingHttpRequest": false`, `"enableForwardingHttpRequest": true`)
		}},
		// handler ↔ binding names, by running the handler
		{"handler decodes", "the timer binding is not what replicate reads", func(t *testing.T, w *world) {
			binding(t, w, handlers.FnReplicateSessions, "timer").Name = "tick"
		}},
		{"handler decodes", "the queue trigger is not what runCommand reads", func(t *testing.T, w *world) {
			binding(t, w, handlers.FnRunCommand, "command").Name = "message"
		}},
		{"handler decodes", "AlertIntake's output binding is not what it writes", func(t *testing.T, w *world) {
			binding(t, w, handlers.FnAlertIntake, "command").Name = "outbox"
		}},
		{"handler decodes", "AlertIntake's request binding is not what it reads", func(t *testing.T, w *world) {
			binding(t, w, handlers.FnAlertIntake, "req").Name = "request"
		}},
		// bindings ↔ Bicep
		{"wiring", "Bicep renames the queue", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "  name: queueName\n", "  name: 'commands'\n")
		}},
		{"wiring", "DR_COMMAND_QUEUE names another queue than the one created", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_COMMAND_QUEUE: commandQueueName", "  DR_COMMAND_QUEUE: 'dr-commands-v2'")
		}},
		{"wiring", "the lock is shorter than an invocation", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "lockDuration: 'PT5M'", "lockDuration: 'PT1M'")
		}},
		{"wiring", "expired commands are dropped, not dead-lettered", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: false")
		}},
		{"wiring", "the delivery count differs from the README's", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "param maxDeliveryCount int = 10", "param maxDeliveryCount int = 3")
		}},
		{"wiring", "main.bicep deploys the queue with another delivery count", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    queueName: commandQueueName\n", "    queueName: commandQueueName\n    maxDeliveryCount: 3\n")
		}},
		{"wiring", "main.bicepparam sets another delivery count", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    queueName: commandQueueName\n", "    queueName: commandQueueName\n    maxDeliveryCount: deliveries\n")
			w.files[mainBicep] += "\nparam deliveries int = 10\n"
			w.files[params] += "\nparam deliveries = 3\n"
		}},
		{"wiring", "main.bicep passes a short lock", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "lockDuration: 'PT5M'", "lockDuration: lockDuration")
			w.files[serviceBus] += "\nparam lockDuration string = 'PT5M'\n"
			edit(t, w, mainBicep, "    queueName: commandQueueName\n", "    queueName: commandQueueName\n    lockDuration: 'PT1M'\n")
		}},
		{"wiring", "main.bicep turns dead-lettering off", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: deadLettering")
			w.files[serviceBus] += "\nparam deadLettering bool = true\n"
			edit(t, w, mainBicep, "    queueName: commandQueueName\n", "    queueName: commandQueueName\n    deadLettering: false\n")
		}},
		{"wiring", "the queue falls back to a default name main.bicep does not pass", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "param queueName string\n", "param queueName string = 'commands'\n")
			edit(t, w, mainBicep, "    queueName: commandQueueName\n", "")
		}},
		{"wiring", "the state table differs from DR_STATE_TABLE", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    stateTableName: stateTableName\n", "    stateTableName: 'checkpoints'\n")
		}},
		{"wiring", "the action group posts to another route", func(t *testing.T, w *world) {
			edit(t, w, alerts, "/api/alert?code=", "/api/alerts?code=")
		}},
		{"wiring", "the action group does not send the common alert schema", func(t *testing.T, w *world) {
			edit(t, w, alerts, "        useCommonAlertSchema: true\n      }\n    ]\n    emailReceivers", "        useCommonAlertSchema: false\n      }\n    ]\n    emailReceivers")
		}},
		{"wiring", "the action group calls another function", func(t *testing.T, w *world) {
			edit(t, w, alerts, "functionName: 'AlertIntake'", "functionName: 'Status'")
		}},
		{"wiring", "the example rules are not allow-listed", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "var allowList = concat(alertRules, map(exampleFailoverRules,", "var allowList = concat(alertRules, map([],")
		}},
		// roles: code's ARM calls ↔ Bicep roles and scopes
		{"roles", "the queue roles are widened to the namespace", func(t *testing.T, w *world) {
			edit(t, w, serviceBus, "  scope: queue\n", "  scope: sbNamespace\n")
		}},
		{"roles", "the Table Data Contributor assignment is dropped", func(t *testing.T, w *world) {
			edit(t, w, storage, "resource stateTables 'Microsoft.Authorization/roleAssignments@2022-04-01'", "resource stateTables 'Microsoft.Authorization/roleAssignments@2022-04-01' existing")
		}},
		{"roles", "an unneeded built-in role is added (Queue Data Contributor)", func(t *testing.T, w *world) {
			edit(t, w, storage, "var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'", "var storageTableDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'")
		}},
		{"roles", "the integration account role is widened to its resource group", func(t *testing.T, w *world) {
			edit(t, w, iaAccess, "  scope: account\n", "")
		}},
		{"roles", "a role is assigned at the subscription", func(t *testing.T, w *world) {
			w.files[mainBicep] += "\nresource broad 'Microsoft.Authorization/roleAssignments@2022-04-01' = {\n  name: guid(subscription().id, 'broad')\n  properties: {\n    principalId: identity.outputs.principalId\n    principalType: 'ServicePrincipal'\n    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '87a39d53-fc1b-424a-814c-f7e04687dc9e')\n  }\n}\n"
		}},
		{"roles", "the B2B role loses sessions/write", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Logic/integrationAccounts/sessions/write'\n", "")
		}},
		{"roles", "the B2B role gains workflows/write", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Logic/workflows/read'\n", "          'Microsoft.Logic/workflows/read'\n          'Microsoft.Logic/workflows/write'\n")
		}},
		{"roles", "an adapter makes an ARM call no role grants", func(t *testing.T, w *world) {
			w.files[workflows] += "\nfunc (w *Workflow) remove(ctx context.Context) error {\n\t_, err := w.client.Delete(ctx, w.group, w.name, nil)\n\treturn err\n}\n"
		}},
		{"roles", "the workflows are no longer granted", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "module workflowAccess 'modules/access-workflow.bicep'", "module workflowAccess 'modules/access-workflow-disabled.bicep'")
		}},
		{"roles", "a role is given to another principal", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "    principalId: identity.outputs.principalId\n    roleDefinitionGuid: roles.outputs.dataFactoryRoleGuid", "    principalId: deployer().objectId\n    roleDefinitionGuid: roles.outputs.dataFactoryRoleGuid")
		}},
		{"roles", "the Traffic Manager role loses the endpoints' write", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Network/trafficManagerProfiles/azureEndpoints/write'\n", "")
		}},
		{"roles", "the Front Door role loses the update's status", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Cdn/operationresults/profileresults/origingroupresults/originresults/read'\n", "")
		}},
		{"roles", "the Standard apps role may restart the app", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Web/sites/config/write'\n", "          'Microsoft.Web/sites/config/write'\n          'Microsoft.Web/sites/restart/action'\n")
		}},
		{"roles", "Standard workflows are granted as Consumption ones", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "module standardAppAccess 'modules/access-standard-app.bicep'", "module standardAppAccess 'modules/access-standard-app-disabled.bicep'")
		}},
		{"roles", "the mirror's prune role is granted without the delete", func(t *testing.T, w *world) {
			edit(t, w, roles, "          'Microsoft.Logic/integrationAccounts/maps/delete'\n", "")
		}},
		{"roles", "the data factories are no longer all granted", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "var dataFactoryIds = union(map(ssisSides, s => toLower(s.dataFactory)), [])", "var dataFactoryIds = []")
		}},
		// plan
		{"plan", "the plan becomes Elastic Premium", func(t *testing.T, w *world) {
			edit(t, w, fnApp, "    tier: 'FlexConsumption'\n    name: 'FC1'", "    tier: 'ElasticPremium'\n    name: 'EP1'")
		}},
		{"plan", "the runtime is not the custom handler", func(t *testing.T, w *world) {
			edit(t, w, fnApp, "        name: 'custom'", "        name: 'dotnet-isolated'")
		}},
		{"plan", "RunCommand is not kept warm", func(t *testing.T, w *world) {
			edit(t, w, fnApp, "name: 'function:RunCommand'", "name: 'function:Status'")
		}},
		{"plan", "host.json's timeout is shorter than an invocation", func(t *testing.T, w *world) {
			edit(t, w, "host.json", `"functionTimeout": "00:05:00"`, `"functionTimeout": "00:02:00"`)
		}},
		// parameters
		{"parameters", "main.bicepparam does not set the topology", func(t *testing.T, w *world) {
			edit(t, w, params, "param topology = {", "var topologyExample = {")
		}},
		{"parameters", "main.bicepparam sets a parameter main.bicep lacks", func(t *testing.T, w *world) {
			w.files[params] += "\nparam planSku = 'EP1'\n"
		}},
		{"parameters", "the topology is written in, not passed as a parameter", func(t *testing.T, w *world) {
			edit(t, w, mainBicep, "  DR_TOPOLOGY: string(topology)", "  DR_TOPOLOGY: '{\"pairs\":[]}'")
		}},
		{"parameters", "the example topology does not load", func(t *testing.T, w *world) {
			edit(t, w, params, "readiness: 'refuse'", "readiness: 'maybe'")
		}},
		// packaging
		{"packaging", "the package is built with the standin tag", func(t *testing.T, w *world) {
			edit(t, w, "Makefile", "-trimpath -o $(PKG_DIR)/handler", "-trimpath -tags standin -o $(PKG_DIR)/handler")
		}},
		{"packaging", "the package is built for the build machine", func(t *testing.T, w *world) {
			edit(t, w, "Makefile", "CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build", "$(GO) build")
		}},
		{"packaging", "azure.yaml deploys another folder", func(t *testing.T, w *world) {
			edit(t, w, "azure.yaml", "    dist: dist/app", "    dist: bin")
		}},
		{"packaging", "host.json starts another executable", func(t *testing.T, w *world) {
			edit(t, w, "host.json", `"defaultExecutablePath": "handler"`, `"defaultExecutablePath": "app"`)
		}},
	}
	base := loadWorld(t)
	byName := map[string]func(*world) problems{}
	for _, c := range checks {
		byName[c.name] = c.run
		if got := c.run(base); len(got) > 0 {
			t.Fatalf("check %q fails on the real files: %v", c.name, got)
		}
	}
	covered := map[string]bool{}
	for _, m := range mutations {
		t.Run(m.check+"/"+m.name, func(t *testing.T) {
			run, ok := byName[m.check]
			if !ok {
				t.Fatalf("no check %q", m.check)
			}
			covered[m.check] = true
			w := base.clone()
			m.mutate(t, w)
			got := run(w)
			if len(got) == 0 {
				t.Fatalf("check %q still passes", m.check)
			}
			t.Logf("fails as it should: %s", got[0])
		})
	}
	for _, c := range checks {
		if !covered[c.name] {
			t.Errorf("check %q has no mutation that shows it can fail", c.name)
		}
	}
}
