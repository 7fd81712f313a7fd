package infra

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"integration-dr/config"
)

// Built-in roles the app's identity holds.
const (
	roleStorageBlobDataOwner        = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	roleStorageTableDataContributor = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
	roleServiceBusDataReceiver      = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
	roleServiceBusDataSender        = "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"
	roleMonitoringMetricsPublisher  = "3913510d-42f4-4e42-8a64-420c390055eb"
)

var builtinNames = map[string]string{
	roleStorageBlobDataOwner:        "Storage Blob Data Owner",
	roleStorageTableDataContributor: "Storage Table Data Contributor",
	roleServiceBusDataReceiver:      "Azure Service Bus Data Receiver",
	roleServiceBusDataSender:        "Azure Service Bus Data Sender",
	roleMonitoringMetricsPublisher:  "Monitoring Metrics Publisher",
}

// roleName names a built-in role by its name where this file knows it.
func roleName(guid string) string {
	if n, ok := builtinNames[guid]; ok {
		return n + " (" + guid + ")"
	}
	return guid
}

// assignment is one role assignment infra/bicep makes, as deployed through one module
// call.
type assignment struct {
	where   string // file and resource
	scope   string // resource type, resourceGroup or subscription
	builtin string // built-in role GUID, or "" for a custom role
	custom  string // roles.bicep resource of a custom role
	actions []string
}

func (a assignment) role() string {
	if a.builtin != "" {
		return "built-in " + roleName(a.builtin)
	}
	return "custom " + a.custom
}

// expectedBuiltins derives the built-in roles the app needs, and where, from what the
// code reads and binds.
func expectedBuiltins(w *world) map[[2]string]string {
	out := map[[2]string]string{}
	has := func(name string) bool {
		for _, s := range w.settings {
			if s.Name == name && s.SetIn&config.SetInAzure != 0 {
				return true
			}
		}
		return false
	}
	if has(config.EnvTableURL) {
		out[[2]string{roleStorageTableDataContributor, scopeStorageAccount}] = "checkpoints and the journal (" + config.EnvTableURL + ")"
	}
	if has(config.EnvStorage + "__accountName") {
		out[[2]string{roleStorageBlobDataOwner, scopeStorageAccount}] = "identity-based host storage and the deployment package"
	}
	if has(config.EnvAppInsightsAuth) {
		out[[2]string{roleMonitoringMetricsPublisher, scopeAppInsights}] = "telemetry signed by the identity (" + config.EnvAppInsightsAuth + ")"
	}
	for _, fn := range w.functions {
		for _, b := range fn.Bindings {
			switch b.Type {
			case "serviceBusTrigger":
				out[[2]string{roleServiceBusDataReceiver, scopeQueue}] = fn.Name + " takes from the queue"
			case "serviceBus":
				out[[2]string{roleServiceBusDataSender, scopeQueue}] = fn.Name + " sends to the queue"
			}
		}
	}
	return out
}

// accessLoops says what each access module's loop must range over: words its source
// (with main.bicep's vars expanded) must hold, so that every resource of the kind the
// topology names gets the role.
var accessLoops = map[string][]string{
	"modules/access-integration-account.bicep":                             {"topology", ".primary", ".secondary"},
	"modules/access-workflow.bicep":                                        {"topology", "primaryWorkflows", "secondaryWorkflows", "'microsoft.logic'"},
	"modules/access-standard-app.bicep":                                    {"topology", "primaryWorkflows", "secondaryWorkflows", "'microsoft.web'"},
	"modules/access-traffic-manager.bicep":                                 {"topology", "primaryRoutes", "secondaryRoutes", "'microsoft.network'"},
	"modules/access-front-door.bicep":                                      {"topology", "primaryRoutes", "secondaryRoutes", "'microsoft.cdn'"},
	"modules/access-data-factory.bicep":                                    {"topology", "ssisPairs", ".dataFactory"},
	"modules/access-sql-failover-group.bicep":                              {"topology", "ssisPairs", ".failoverGroup", "'failovergroups'"},
	"modules/access-resource-group.bicep sqlFailoverStatusRoleGuid":        {"topology", "ssisPairs", ".failoverGroup", "'failovergroups'"},
	"modules/access-resource-group.bicep sqlInstanceFailoverGroupRoleGuid": {"topology", "ssisPairs", ".failoverGroup", "'instancefailovergroups'"},
}

var (
	roleDefinitionRef = regexp.MustCompile(`^subscriptionResourceId\('Microsoft\.Authorization/roleDefinitions', (.+)\)$`)
	rolesOutputRef    = regexp.MustCompile(`^(\w+)\.outputs\.(\w+)$`)
	guidLiteral       = regexp.MustCompile(`^'([0-9a-fA-F-]{36})'$`)
)

// assignments reads every role assignment in infra/bicep, following module
// parameters to what main.bicep passes, and custom roles to their actions.
func assignments(p *problems, w *world) []assignment {
	main := w.bicep(p, "main.bicep")
	rolesCall := moduleCall(p, main, "modules/roles.bicep")
	rolesFile := w.bicep(p, "modules/roles.bicep")
	principal := moduleCall(p, main, "modules/identity.bicep").name + ".outputs.principalId"
	for _, m := range main.of("module") {
		if _, ok := w.files["infra/bicep/"+m.typ]; !ok {
			p.add("main.bicep: module %s uses %s, which does not exist", m.name, m.typ)
		}
	}
	customRole := func(where, ref string) (string, []string) {
		m := rolesOutputRef.FindStringSubmatch(ref)
		if m == nil || m[1] != rolesCall.name {
			p.add("%s: role %s is not an output of modules/roles.bicep", where, ref)
			return "", nil
		}
		out := rolesFile.find("output", m[2])
		if out == nil {
			p.add("%s: modules/roles.bicep has no output %s", where, m[2])
			return "", nil
		}
		sym := strings.TrimSuffix(out.value.src(), ".name")
		def := rolesFile.find("resource", sym)
		if def == nil || def.typ != "Microsoft.Authorization/roleDefinitions" {
			p.add("modules/roles.bicep: output %s is not a role definition's name", m[2])
			return "", nil
		}
		var actions []string
		perms := def.body().get("properties", "permissions")
		if perms == nil || len(perms.items) != 1 {
			p.add("modules/roles.bicep: %s must have one permissions entry", sym)
			return sym, nil
		}
		for _, a := range perms.items[0].get("actions").stringItems() {
			actions = append(actions, strings.ToLower(a))
		}
		if perms.items[0].get("dataActions").src() != "" {
			p.add("modules/roles.bicep: %s grants data actions", sym)
		}
		return sym, actions
	}
	var out []assignment
	var paths []string
	for path := range w.files {
		if strings.HasPrefix(path, "infra/bicep/") && strings.HasSuffix(path, ".bicep") {
			paths = append(paths, strings.TrimPrefix(path, "infra/bicep/"))
		}
	}
	sort.Strings(paths)
	for _, path := range paths {
		f := w.bicep(p, path)
		for _, r := range f.resourcesOf("Microsoft.Authorization/roleAssignments") {
			if r.existing {
				continue
			}
			where := path + ": " + r.name
			body := r.body()
			scope := ""
			switch s := body.get("scope").src(); s {
			case "":
				scope = f.targetScope()
			default:
				target := f.find("resource", s)
				if target == nil {
					p.add("%s: scope %s is not a resource declared in the file", where, s)
					continue
				}
				scope = target.fullType()
			}
			if !strings.HasPrefix(body.get("name").src(), "guid(") {
				p.add("%s: the name must be a guid(...)", where)
			}
			if body.get("properties", "principalType").lit() != "ServicePrincipal" {
				p.add("%s: principalType must be 'ServicePrincipal'", where)
			}
			ref := roleDefinitionRef.FindStringSubmatch(body.get("properties", "roleDefinitionId").src())
			if ref == nil {
				p.add("%s: roleDefinitionId must be subscriptionResourceId('Microsoft.Authorization/roleDefinitions', <guid>)", where)
				continue
			}
			roleExpr, principalExpr := ref[1], body.get("properties", "principalId").src()
			builtinOf := func(expr string) string {
				if m := guidLiteral.FindStringSubmatch(expr); m != nil {
					return strings.ToLower(m[1])
				}
				if v := f.find("var", expr); v != nil && guidLiteral.MatchString("'"+v.value.lit()+"'") {
					return strings.ToLower(v.value.lit())
				}
				return ""
			}
			// One assignment per way it is deployed: in main.bicep itself, or through
			// each call of its module.
			type site struct{ where, role, principal, loop string }
			var sites []site
			if path == "main.bicep" {
				sites = append(sites, site{where, roleExpr, principalExpr, ""})
			} else {
				for _, call := range main.of("module") {
					if call.typ != path {
						continue
					}
					resolve := func(expr string) string {
						if f.find("param", expr) != nil {
							return arg(call, expr)
						}
						return expr
					}
					loop := ""
					if call.value.kind == forNode {
						loop = call.value.forSource
					}
					sites = append(sites, site{where + " (module " + call.name + ")", resolve(roleExpr), resolve(principalExpr), loop})
				}
			}
			for _, s := range sites {
				if s.principal != principal {
					p.add("%s: assigned to %s, not the app's identity (%s)", s.where, s.principal, principal)
				}
				a := assignment{where: s.where, scope: scope}
				if a.builtin = builtinOf(s.role); a.builtin == "" {
					a.custom, a.actions = customRole(s.where, s.role)
					if path != "main.bicep" {
						key := path
						if m := rolesOutputRef.FindStringSubmatch(s.role); m != nil && path == "modules/access-resource-group.bicep" {
							key += " " + m[2]
						}
						words, ok := accessLoops[key]
						expanded := expandVars(main, s.loop)
						for _, word := range words {
							if !strings.Contains(expanded, word) {
								p.add("%s: the loop over %q must range over every resource of its kind in the topology, and never mentions %s", s.where, s.loop, word)
							}
						}
						if !ok {
							p.add("%s: no entry in accessLoops says what it must range over", s.where)
						}
					}
				}
				out = append(out, a)
			}
		}
	}
	return out
}

// applies reports whether an action means anything at a scope: anything below a
// resource group, or the scope's own type and its children.
func applies(action, scope string) bool {
	return scope == scopeResourceGroup || scope == scopeSubscription || strings.HasPrefix(action, strings.ToLower(scope)+"/")
}

// checkRoles: every role the code needs is assigned to the app's identity at the
// narrowest scope (the built-in ones from what it reads and binds; the custom ones from
// the ARM calls the adapters make), and nothing more: no role where no call needs it,
// no action no call needs, no assignment at a wider scope, none at the subscription.
func checkRoles(w *world) problems {
	var p problems
	all := assignments(&p, w)
	want := expectedBuiltins(w)
	needs, scanProblems := neededGrants(w.files)
	p = append(p, scanProblems...)
	found := map[[2]string]int{}
	for _, a := range all {
		if a.scope == scopeSubscription {
			p.add("%s: %s assigned at the subscription", a.where, a.role())
		}
		if a.builtin != "" {
			key := [2]string{a.builtin, a.scope}
			found[key]++
			if _, ok := want[key]; !ok {
				p.add("%s: built-in role %s at %s: nothing in the code needs it there", a.where, roleName(a.builtin), a.scope)
			}
			continue
		}
		var effective []string
		for _, action := range a.actions {
			if !applies(action, a.scope) {
				continue
			}
			effective = append(effective, action)
			if len(needs[grant{a.scope, action}]) == 0 {
				p.add("%s: %s grants %s at %s, which no ARM call of the adapters needs there (too many actions, or too wide a scope)", a.where, a.role(), action, a.scope)
			}
		}
		if len(effective) == 0 && a.custom != "" {
			p.add("%s: %s grants nothing at %s", a.where, a.role(), a.scope)
		}
	}
	for key, why := range want {
		if found[key] == 0 {
			p.add("built-in role %s is not assigned at %s (needed for %s)", roleName(key[0]), key[1], why)
		}
	}
	keys := make([]grant, 0, len(needs))
	for g := range needs {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	for _, g := range keys {
		granted := false
		for _, a := range all {
			if a.scope != g.scope {
				continue
			}
			for _, action := range a.actions {
				granted = granted || action == g.action
			}
		}
		if !granted {
			p.add("%s needs %s at %s, and no role assigned there grants it", strings.Join(needs[g], ", "), g.action, g.scope)
		}
	}
	return p
}
