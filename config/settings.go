package config

import (
	"strconv"
	"strings"
	"time"
)

// Settings names every app setting the app depends on, who reads it and where it is
// set. It is what infra/infra_test.go holds the deployment (infra/bicep) and
// local.settings.json.example to: a setting the handler or a binding needs and the
// deployment leaves out, or one the deployment sets and nothing reads, fails it.

// Names of the settings that only the bindings and the host read; the handler's own
// are the Env* constants in config.go.
const (
	// EnvReplicationSchedule, EnvOperationsSchedule and EnvSSISSchedule are the NCRONTAB
	// schedules of the timers ReplicateSessions, AdvanceOperations and ReconcileSSIS
	// (%NAME% in their function.json).
	EnvReplicationSchedule = "DR_REPLICATION_SCHEDULE"
	EnvOperationsSchedule  = "DR_OPERATIONS_SCHEDULE"
	EnvSSISSchedule        = "DR_SSIS_SCHEDULE"
	// EnvWorkerRuntime tells the host which language worker to start: "custom" for a
	// custom handler. Locally it is a setting; on Flex Consumption the site's runtime
	// stack (functionAppConfig.runtime) says it, and the app setting is refused.
	EnvWorkerRuntime = "FUNCTIONS_WORKER_RUNTIME"
	// WorkerRuntimeCustom is EnvWorkerRuntime's value for a custom handler.
	WorkerRuntimeCustom = "custom"
	// EnvSQLStandin is app.EnvSQLStandin, spelled here because app imports config; a
	// test holds the two together.
	EnvSQLStandin = "DR_SQL_STANDIN"
	// EnvAppInsights and EnvAppInsightsAuth connect the host's telemetry to Application
	// Insights; with the component's local authentication disabled, the connection
	// string only names the component and the identity signs what is sent.
	EnvAppInsights     = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	EnvAppInsightsAuth = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
)

// Suffixes of an identity-based connection's settings (<connection>__<suffix>), as the
// Functions host and its extensions read them.
const (
	suffixNamespace  = "__fullyQualifiedNamespace"
	suffixCredential = "__credential"
	suffixClientID   = "__clientId"
	suffixAccount    = "__accountName"
)

// IdentityClientID stands, in Setting.Deployed, for the client ID of the app's
// user-assigned managed identity: every setting that names the identity names the same.
const IdentityClientID = "<client ID of the app's user-assigned identity>"

// ServiceBusConnection is the connection name the Service Bus bindings use
// ("connection" in function.json): the prefix of EnvServiceBusNS.
func ServiceBusConnection() string { return strings.TrimSuffix(EnvServiceBusNS, suffixNamespace) }

// Reader says who reads a setting.
type Reader uint8

const (
	// ReadByHandler: config.Load or app.Build, in the handler process.
	ReadByHandler Reader = 1 << iota
	// ReadByBinding: a function.json, as %NAME% in a schedule or queue name, or as a
	// connection's prefix.
	ReadByBinding
	// ReadByHost: the Functions host itself (host storage, telemetry, worker runtime).
	ReadByHost
	// ReadByTestBuild: only a build tagged standin (tests, the demo).
	ReadByTestBuild
)

// Where says where a setting is set.
type Where uint8

const (
	// SetInAzure: the function app's settings, written by infra/bicep.
	SetInAzure Where = 1 << iota
	// SetLocally: local.settings.json.example, for a local run.
	SetLocally
	// SetByPlatform: the Functions host or the site's runtime stack; never an app
	// setting.
	SetByPlatform
)

// Setting is one app setting.
type Setting struct {
	Name   string
	ReadBy Reader
	// Default is what the code uses when the setting is unset; "" when it has none.
	Default string
	// SetIn is where it may be set; RequiredIn where it must be, because the handler,
	// a binding or the host fails without it there.
	SetIn, RequiredIn Where
	// Deployed is the value a deployment must give it, when that value is fixed:
	// managedidentity, custom, or IdentityClientID.
	Deployed string
}

// Required reports whether the setting must be set in w.
func (s Setting) Required(w Where) bool { return s.RequiredIn&w != 0 }

// Settings returns every setting, the handler's first, in a fixed order.
func Settings() []Setting {
	d := defaults()
	everywhere := SetInAzure | SetLocally
	tuning := func(name string) Setting {
		return Setting{Name: name, ReadBy: ReadByHandler, Default: d[name], SetIn: everywhere}
	}
	sb := ServiceBusConnection()
	return []Setting{
		{Name: EnvPort, ReadBy: ReadByHandler, SetIn: SetByPlatform, RequiredIn: SetByPlatform},
		{Name: EnvTopology, ReadBy: ReadByHandler, SetIn: everywhere, RequiredIn: everywhere},
		tuning(EnvBudgetRate), tuning(EnvBudgetBurst), tuning(EnvReadRate), tuning(EnvReadBurst),
		tuning(EnvClockSkew), tuning(EnvReconcile), tuning(EnvReadiness), tuning(EnvLease),
		tuning(EnvWorkers), tuning(EnvPageSize), tuning(EnvBatchSize), tuning(EnvTable),
		tuning(EnvARMEndpoint),
		// A connection string carries a key: in Azure the table endpoint and the
		// identity stand in for it.
		{Name: EnvStorage, ReadBy: ReadByHandler | ReadByHost, SetIn: SetLocally, RequiredIn: SetLocally},
		{Name: EnvTableURL, ReadBy: ReadByHandler | ReadByHost, SetIn: everywhere, RequiredIn: SetInAzure},
		{Name: EnvCredential, ReadBy: ReadByHandler, Default: d[EnvCredential], SetIn: everywhere, RequiredIn: SetInAzure, Deployed: CredentialManagedIdentity},
		{Name: EnvClientID, ReadBy: ReadByHandler, SetIn: everywhere, RequiredIn: SetInAzure, Deployed: IdentityClientID},
		{Name: EnvAlertRules, ReadBy: ReadByHandler, SetIn: everywhere},
		{Name: EnvCommandQueue, ReadBy: ReadByHandler | ReadByBinding, SetIn: everywhere, RequiredIn: everywhere},
		{Name: EnvServiceBusNS, ReadBy: ReadByHandler | ReadByBinding, SetIn: everywhere, RequiredIn: everywhere},
		{Name: EnvSQLStandin, ReadBy: ReadByTestBuild, SetIn: SetLocally},

		{Name: EnvReplicationSchedule, ReadBy: ReadByBinding, SetIn: everywhere, RequiredIn: everywhere},
		{Name: EnvOperationsSchedule, ReadBy: ReadByBinding, SetIn: everywhere, RequiredIn: everywhere},
		{Name: EnvSSISSchedule, ReadBy: ReadByBinding, SetIn: everywhere, RequiredIn: everywhere},
		// Locally the host's default credential (a developer's az login) reaches the
		// namespace; in Azure the app's user-assigned identity does.
		{Name: sb + suffixCredential, ReadBy: ReadByBinding, SetIn: SetInAzure, RequiredIn: SetInAzure, Deployed: CredentialManagedIdentity},
		{Name: sb + suffixClientID, ReadBy: ReadByBinding, SetIn: SetInAzure, RequiredIn: SetInAzure, Deployed: IdentityClientID},

		{Name: EnvWorkerRuntime, ReadBy: ReadByHost, SetIn: SetLocally | SetByPlatform, RequiredIn: SetLocally | SetByPlatform, Deployed: WorkerRuntimeCustom},
		{Name: EnvStorage + suffixAccount, ReadBy: ReadByHost, SetIn: SetInAzure, RequiredIn: SetInAzure},
		{Name: EnvStorage + suffixCredential, ReadBy: ReadByHost, SetIn: SetInAzure, RequiredIn: SetInAzure, Deployed: CredentialManagedIdentity},
		{Name: EnvStorage + suffixClientID, ReadBy: ReadByHost, SetIn: SetInAzure, RequiredIn: SetInAzure, Deployed: IdentityClientID},
		{Name: EnvAppInsights, ReadBy: ReadByHost, SetIn: SetInAzure},
		{Name: EnvAppInsightsAuth, ReadBy: ReadByHost, SetIn: SetInAzure},
	}
}

// Lookup returns the named setting.
func Lookup(name string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// defaults are the values Load uses for unset settings, read from Load itself so that
// they are written once.
func defaults() map[string]string {
	c, _ := Load(func(string) string { return "" })
	dur := func(d time.Duration) string { return d.String() }
	return map[string]string{
		EnvBudgetRate:  strconv.FormatFloat(c.Budget.PerSecond, 'f', -1, 64),
		EnvBudgetBurst: strconv.Itoa(c.Budget.Burst),
		EnvReadRate:    strconv.FormatFloat(c.Budget.ReadsPerSecond, 'f', -1, 64),
		EnvReadBurst:   strconv.Itoa(c.Budget.ReadBurst),
		EnvClockSkew:   dur(c.Engine.ClockSkew),
		EnvReconcile:   dur(c.Engine.ReconcileEvery),
		EnvReadiness:   dur(c.Engine.ReadinessEvery),
		EnvLease:       dur(c.Engine.Lease),
		EnvWorkers:     strconv.Itoa(c.Engine.Workers),
		EnvPageSize:    strconv.Itoa(int(c.Engine.PageSize)),
		EnvBatchSize:   strconv.Itoa(c.Engine.BatchSize),
		EnvTable:       c.State.Table,
		EnvARMEndpoint: c.Azure.ARMEndpoint,
		EnvCredential:  c.Azure.Credential,
	}
}
