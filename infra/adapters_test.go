package infra

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Scopes a role is assigned at, by resource type; resourceGroup where ARM offers
// nothing narrower.
const (
	scopeIntegrationAccount = "Microsoft.Logic/integrationAccounts"
	scopeWorkflow           = "Microsoft.Logic/workflows"
	scopeSite               = "Microsoft.Web/sites"
	scopeTrafficManager     = "Microsoft.Network/trafficManagerProfiles"
	scopeFrontDoor          = "Microsoft.Cdn/profiles"
	scopeDataFactory        = "Microsoft.DataFactory/factories"
	scopeSQLFailoverGroup   = "Microsoft.Sql/servers/failoverGroups"
	scopeStorageAccount     = "Microsoft.Storage/storageAccounts"
	scopeQueue              = "Microsoft.ServiceBus/namespaces/queues"
	scopeAppInsights        = "Microsoft.Insights/components"
	scopeResourceGroup      = "resourceGroup"
	scopeSubscription       = "subscription"
)

// grant is an ARM action the app's identity needs, at the narrowest scope it can be
// granted at.
type grant struct{ scope, action string }

// adapterDirs are the packages that call ARM with the app's identity.
var adapterDirs = []string{"azure/logic", "azure/routing", "azure/datafactory", "azure/sqlfg"}

// armNeeds maps each ARM SDK call the adapters make to the RBAC actions it needs.
// A call missing here fails the roles check: map it, and grant it in roles.bicep.
// Long-running operations are polled after the Begin call: Data Factory's under the
// factory (read), SQL Database's under the resource group (…/locations/{l}/
// failoverGroupAzureAsyncOperation), Managed Instance's likewise.
var armNeeds = map[string][]grant{
	"armlogic.IntegrationAccountSessionsClient.NewListPager":   {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/sessions/read"}},
	"armlogic.IntegrationAccountSessionsClient.Get":            {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/sessions/read"}},
	"armlogic.IntegrationAccountSessionsClient.CreateOrUpdate": {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/sessions/write"}},
	"armlogic.IntegrationAccountAgreementsClient.NewListPager": {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/agreements/read"}},
	// Drift reports read every artifact (b2b and data factory roles); the mirror writes
	// (its roles, with main.bicep's mirror) and deletes (with mirrorPrune).
	"armlogic.IntegrationAccountPartnersClient.NewListPager":              {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/partners/read"}},
	"armlogic.IntegrationAccountPartnersClient.CreateOrUpdate":            {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/partners/write"}},
	"armlogic.IntegrationAccountPartnersClient.Delete":                    {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/partners/delete"}},
	"armlogic.IntegrationAccountAgreementsClient.CreateOrUpdate":          {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/agreements/write"}},
	"armlogic.IntegrationAccountAgreementsClient.Delete":                  {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/agreements/delete"}},
	"armlogic.IntegrationAccountSchemasClient.NewListPager":               {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/schemas/read"}},
	"armlogic.IntegrationAccountSchemasClient.CreateOrUpdate":             {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/schemas/write"}},
	"armlogic.IntegrationAccountSchemasClient.Delete":                     {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/schemas/delete"}},
	"armlogic.IntegrationAccountMapsClient.NewListPager":                  {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/maps/read"}},
	"armlogic.IntegrationAccountMapsClient.CreateOrUpdate":                {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/maps/write"}},
	"armlogic.IntegrationAccountMapsClient.Delete":                        {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/maps/delete"}},
	"armlogic.IntegrationAccountCertificatesClient.NewListPager":          {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/certificates/read"}},
	"armlogic.IntegrationAccountCertificatesClient.CreateOrUpdate":        {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/certificates/write"}},
	"armlogic.IntegrationAccountCertificatesClient.Delete":                {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/certificates/delete"}},
	"armlogic.IntegrationAccountBatchConfigurationsClient.NewListPager":   {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/batchConfigurations/read"}},
	"armlogic.IntegrationAccountBatchConfigurationsClient.CreateOrUpdate": {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/batchConfigurations/write"}},
	"armlogic.IntegrationAccountBatchConfigurationsClient.Delete":         {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/batchConfigurations/delete"}},
	"armlogic.IntegrationAccountSchemasClient.ListContentCallbackURL":     {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/schemas/listContentCallbackUrl/action"}},
	"armlogic.IntegrationAccountMapsClient.ListContentCallbackURL":        {{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/maps/listContentCallbackUrl/action"}},
	"armdatafactory.PipelinesClient.NewListByFactoryPager":                {{scopeDataFactory, "Microsoft.DataFactory/factories/pipelines/read"}},
	"armdatafactory.PipelinesClient.CreateOrUpdate":                       {{scopeDataFactory, "Microsoft.DataFactory/factories/pipelines/write"}},
	"armdatafactory.PipelinesClient.Delete":                               {{scopeDataFactory, "Microsoft.DataFactory/factories/pipelines/delete"}},
	"armdatafactory.TriggersClient.Get":                                   {{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/read"}},
	"armdatafactory.TriggersClient.CreateOrUpdate":                        {{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/write"}},
	"armdatafactory.TriggersClient.Delete":                                {{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/delete"}},

	"armlogic.WorkflowsClient.Get":     {{scopeWorkflow, "Microsoft.Logic/workflows/read"}},
	"armlogic.WorkflowsClient.Enable":  {{scopeWorkflow, "Microsoft.Logic/workflows/enable/action"}},
	"armlogic.WorkflowsClient.Disable": {{scopeWorkflow, "Microsoft.Logic/workflows/disable/action"}},

	// A Standard workflow is switched through its app's settings: listed (a POST to
	// …/config/appsettings/list) and written back whole.
	"armappservice.WebAppsClient.ListApplicationSettings": {
		{scopeSite, "Microsoft.Web/sites/config/list/action"},
		{scopeSite, "Microsoft.Web/sites/read"},
	},
	"armappservice.WebAppsClient.UpdateApplicationSettings": {{scopeSite, "Microsoft.Web/sites/config/write"}},

	// Routes: a Traffic Manager endpoint may be of any of the three collections.
	"armtrafficmanager.EndpointsClient.Get": {
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/read"},
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/azureEndpoints/read"},
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/externalEndpoints/read"},
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/nestedEndpoints/read"},
	},
	"armtrafficmanager.EndpointsClient.Update": {
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/azureEndpoints/write"},
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/externalEndpoints/write"},
		{scopeTrafficManager, "Microsoft.Network/trafficManagerProfiles/nestedEndpoints/write"},
	},
	// A Front Door origin's update is long-running: polled under the origin
	// (…/origins/{o}/operationResults/{id}), an operation-results read.
	"armcdn.AFDOriginsClient.Get": {
		{scopeFrontDoor, "Microsoft.Cdn/profiles/originGroups/read"},
		{scopeFrontDoor, "Microsoft.Cdn/profiles/originGroups/origins/read"},
	},
	"armcdn.AFDOriginsClient.BeginUpdate": {
		{scopeFrontDoor, "Microsoft.Cdn/profiles/originGroups/origins/write"},
		{scopeFrontDoor, "Microsoft.Cdn/operationresults/profileresults/origingroupresults/originresults/read"},
	},

	"armdatafactory.IntegrationRuntimesClient.GetStatus": {{scopeDataFactory, "Microsoft.DataFactory/factories/integrationruntimes/getstatus/action"}},
	"armdatafactory.IntegrationRuntimesClient.BeginStart": {
		{scopeDataFactory, "Microsoft.DataFactory/factories/integrationruntimes/start/action"},
		{scopeDataFactory, "Microsoft.DataFactory/factories/integrationruntimes/read"},
	},
	"armdatafactory.IntegrationRuntimesClient.BeginStop": {
		{scopeDataFactory, "Microsoft.DataFactory/factories/integrationruntimes/stop/action"},
		{scopeDataFactory, "Microsoft.DataFactory/factories/integrationruntimes/read"},
	},
	"armdatafactory.TriggersClient.NewListByFactoryPager": {{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/read"}},
	"armdatafactory.TriggersClient.BeginStart": {
		{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/start/action"},
		{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/read"},
	},
	"armdatafactory.TriggersClient.BeginStop": {
		{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/stop/action"},
		{scopeDataFactory, "Microsoft.DataFactory/factories/triggers/read"},
	},

	"armsql.FailoverGroupsClient.Get": {{scopeSQLFailoverGroup, "Microsoft.Sql/servers/failoverGroups/read"}},
	"armsql.FailoverGroupsClient.BeginFailover": {
		{scopeSQLFailoverGroup, "Microsoft.Sql/servers/failoverGroups/failover/action"},
		{scopeResourceGroup, "Microsoft.Sql/locations/failoverGroupAzureAsyncOperation/read"},
		{scopeResourceGroup, "Microsoft.Sql/locations/failoverGroupOperationResults/read"},
	},
	"armsql.FailoverGroupsClient.BeginForceFailoverAllowDataLoss": {
		{scopeSQLFailoverGroup, "Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action"},
		{scopeResourceGroup, "Microsoft.Sql/locations/failoverGroupAzureAsyncOperation/read"},
		{scopeResourceGroup, "Microsoft.Sql/locations/failoverGroupOperationResults/read"},
	},
	"armsql.InstanceFailoverGroupsClient.Get": {{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroups/read"}},
	"armsql.InstanceFailoverGroupsClient.BeginFailover": {
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroups/failover/action"},
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroupAzureAsyncOperation/read"},
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroupOperationResults/read"},
	},
	"armsql.InstanceFailoverGroupsClient.BeginForceFailoverAllowDataLoss": {
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroups/forceFailoverAllowDataLoss/action"},
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroupAzureAsyncOperation/read"},
		{scopeResourceGroup, "Microsoft.Sql/locations/instanceFailoverGroupOperationResults/read"},
	},
}

// armCalls finds the ARM SDK calls in the adapters' source: methods called on struct
// fields typed *<sdk>.<X>Client (sdk imported from .../resourcemanager/...), through
// the method's receiver, as the adapters are written (a.sessions.Get(...)). Clients
// constructed and not kept in such a field are reported, since their calls would not
// be seen.
func armCalls(files map[string]string) (calls map[string][]string, problems []string) {
	calls = map[string][]string{} // "armlogic.WorkflowsClient.Enable" → where
	fset := token.NewFileSet()
	type fileAST struct {
		path string
		f    *ast.File
		sdk  map[string]bool // import names of resourcemanager packages
	}
	var parsed []fileAST
	fields := map[string]map[string]string{} // struct → field → "pkg.Client"
	for _, dir := range adapterDirs {
		var paths []string
		for path := range files {
			if strings.HasPrefix(path, dir+"/") && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !strings.Contains(path[len(dir)+1:], "/") {
				paths = append(paths, path)
			}
		}
		sort.Strings(paths)
		if len(paths) == 0 {
			problems = append(problems, dir+": no Go files to scan")
		}
		for _, path := range paths {
			f, err := parser.ParseFile(fset, path, files[path], parser.SkipObjectResolution)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			sdk := map[string]bool{}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if !strings.Contains(p, "/resourcemanager/") {
					continue
				}
				name := p[strings.LastIndex(p, "/")+1:]
				if strings.HasPrefix(name, "v") && strings.Trim(name[1:], "0123456789") == "" { // .../armdatafactory/v9
					rest := p[:strings.LastIndex(p, "/")]
					name = rest[strings.LastIndex(rest, "/")+1:]
				}
				if imp.Name != nil {
					name = imp.Name.Name
				}
				sdk[name] = true
			}
			parsed = append(parsed, fileAST{path, f, sdk})
			ast.Inspect(f, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return true
				}
				for _, fl := range st.Fields.List {
					if client := sdkClient(fl.Type, sdk); client != "" {
						for _, name := range fl.Names {
							if fields[ts.Name.Name] == nil {
								fields[ts.Name.Name] = map[string]string{}
							}
							fields[ts.Name.Name][name.Name] = client
						}
					}
				}
				return true
			})
		}
	}
	kept := map[string]bool{}
	for _, fs := range fields {
		for _, c := range fs {
			kept[c] = true
		}
	}
	for _, pf := range parsed {
		// Constructors: every client made must be kept in a scanned field.
		ast.Inspect(pf.f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && pf.sdk[pkg.Name] && strings.HasPrefix(sel.Sel.Name, "New") && strings.HasSuffix(sel.Sel.Name, "Client") {
					if c := pkg.Name + "." + strings.TrimPrefix(sel.Sel.Name, "New"); !kept[c] {
						problems = append(problems, fmt.Sprintf("%s: %s is made but not kept in a struct field, so its calls are not checked", fset.Position(call.Pos()), c))
					}
				}
			}
			return true
		})
		ast.Inspect(pf.f, func(n ast.Node) bool {
			fd, ok := n.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 || len(fd.Recv.List[0].Names) != 1 || fd.Body == nil {
				return true
			}
			recv := fd.Recv.List[0].Names[0].Name
			typ := fd.Recv.List[0].Type
			if star, ok := typ.(*ast.StarExpr); ok {
				typ = star.X
			}
			tid, ok := typ.(*ast.Ident)
			if !ok {
				return true
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				method, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				field, ok := method.X.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if r, ok := field.X.(*ast.Ident); !ok || r.Name != recv {
					return true
				}
				if client := fields[tid.Name][field.Sel.Name]; client != "" {
					key := client + "." + method.Sel.Name
					calls[key] = append(calls[key], fset.Position(call.Pos()).String())
				}
				return true
			})
			return false
		})
	}
	return calls, problems
}

// sdkClient returns "pkg.XClient" for a field type *pkg.XClient of an SDK package.
func sdkClient(expr ast.Expr, sdk map[string]bool) string {
	star, ok := expr.(*ast.StarExpr)
	if !ok {
		return ""
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok || !sdk[pkg.Name] || !strings.HasSuffix(sel.Sel.Name, "Client") {
		return ""
	}
	return pkg.Name + "." + sel.Sel.Name
}

// mirrorNeeds are the grants of the artifact mirror (partners, agreements, schemas,
// maps, certificates and batch configurations of integration accounts; pipelines and
// triggers of data factories), deployed only with main.bicep's mirror parameter and
// their deletes only with mirrorPrune. They are needed whether or not its adapter's
// calls are in this tree: once they are, armNeeds maps them to these same grants.
var mirrorNeeds = func() map[grant]string {
	out := map[grant]string{}
	for _, kind := range []string{"partners", "agreements", "schemas", "maps", "certificates", "batchConfigurations"} {
		for _, verb := range []string{"write", "delete"} {
			out[grant{scopeIntegrationAccount, "Microsoft.Logic/integrationAccounts/" + kind + "/" + verb}] = "the artifact mirror (" + kind + ")"
		}
	}
	for _, kind := range []string{"pipelines", "triggers"} {
		for _, verb := range []string{"write", "delete"} {
			out[grant{scopeDataFactory, "Microsoft.DataFactory/factories/" + kind + "/" + verb}] = "the artifact mirror (" + kind + ")"
		}
	}
	return out
}()

// neededGrants maps the adapters' calls to grants; calls not in armNeeds are problems.
func neededGrants(files map[string]string) (map[grant][]string, []string) {
	calls, problems := armCalls(files)
	if len(calls) == 0 {
		problems = append(problems, "no ARM calls found in "+strings.Join(adapterDirs, ", "))
	}
	needs := map[grant][]string{}
	keys := make([]string, 0, len(calls))
	for k := range calls {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, call := range keys {
		gs, ok := armNeeds[call]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s (%s) calls ARM, and no role grants it: map it in armNeeds (infra/adapters_test.go) and add its action to infra/bicep/modules/roles.bicep", call, calls[call][0]))
			continue
		}
		for _, g := range gs {
			g.action = strings.ToLower(g.action)
			needs[g] = append(needs[g], call)
		}
	}
	for g, who := range mirrorNeeds {
		g.action = strings.ToLower(g.action)
		needs[g] = append(needs[g], who)
	}
	return needs, problems
}
