// Example parameters of main.bicep. Replace the topology with your own pairs before the
// first deployment: role assignments are made on every resource it names.
//
// From the environment (azd sets the first three; `make deploy` reads them too):
//   AZURE_ENV_NAME         environment name, e.g. contoso-dr
//   AZURE_LOCATION         the SECONDARY region, where the app runs
//   AZURE_SUBSCRIPTION_ID  subscription of the app (and, here, of the example's resources)
//   AZURE_RESOURCE_GROUP   resource group of the app (default rg-<AZURE_ENV_NAME>)
using 'main.bicep'

var subscriptionId = readEnvironmentVariable('AZURE_SUBSCRIPTION_ID', '00000000-0000-0000-0000-000000000000')
var groups = '/subscriptions/${subscriptionId}/resourceGroups'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'integration-dr')
param location = readEnvironmentVariable('AZURE_LOCATION', 'northeurope')
param resourceGroupName = readEnvironmentVariable('AZURE_RESOURCE_GROUP', '')

// DR_TOPOLOGY (its fields: local.settings.json.example, README "Configuration").
param topology = {
  pairs: [
    {
      name: 'contoso-b2b'
      primary: '${groups}/b2b-westeurope/providers/Microsoft.Logic/integrationAccounts/contoso-ia-weu'
      secondary: '${groups}/b2b-northeurope/providers/Microsoft.Logic/integrationAccounts/contoso-ia-neu'
      kinds: [
        'generated'
        'received'
        'as2mic'
        'other'
      ]
      overlap: '5m'
      failover: {
        primaryWorkflows: [
          '${groups}/b2b-westeurope/providers/Microsoft.Logic/workflows/x12-intake'
        ]
        secondaryWorkflows: [
          '${groups}/b2b-northeurope/providers/Microsoft.Logic/workflows/x12-intake'
        ]
        readiness: 'refuse'
      }
    }
  ]
  ssisPairs: [
    {
      name: 'contoso-ssis'
      standbyIR: 'running'
      primary: {
        failoverGroup: '${groups}/ssis-westeurope/providers/Microsoft.Sql/locations/westeurope/instanceFailoverGroups/fg-ssisdb'
        sqlEndpoint: 'contoso-mi-weu.public.0123456789ab.database.windows.net:3342'
        dataFactory: '${groups}/ssis-westeurope/providers/Microsoft.DataFactory/factories/contoso-adf-weu'
        integrationRuntime: 'ssis-ir-weu'
        triggers: [
          'nightly-load'
        ]
        triggerAnnotation: 'dr-follows-ssisdb'
        schedules: [
          'SSIS nightly load'
        ]
      }
      secondary: {
        failoverGroup: '${groups}/ssis-northeurope/providers/Microsoft.Sql/locations/northeurope/instanceFailoverGroups/fg-ssisdb'
        sqlEndpoint: 'contoso-mi-neu.public.0123456789ab.database.windows.net:3342'
        dataFactory: '${groups}/ssis-northeurope/providers/Microsoft.DataFactory/factories/contoso-adf-neu'
        integrationRuntime: 'ssis-ir-neu'
        triggers: [
          'nightly-load'
        ]
        triggerAnnotation: 'dr-follows-ssisdb'
        schedules: [
          'SSIS nightly load'
        ]
      }
    }
  ]
}

// Alert rules of your own that may start an operation (DR_ALERT_RULES, docs/alerts.md),
// each by its resource ID; add the action group ag-<environment>-intake to each. The
// example rules are added for you.
param alertRules = [
  // {
  //   ruleId: '${groups}/b2b-westeurope/providers/Microsoft.Insights/metricAlerts/contoso-ia-weu-unavailable'
  //   pair: 'contoso-b2b'
  //   action: 'failover'
  //   mode: 'propose'
  // }
]

param notifyEmails = []

// The secure webhook (docs/alerts.md): off, AlertIntake is called with its function
// key alone. On, give the Entra app registration's object ID, client ID and identifier URI.
param secureWebhook = false
