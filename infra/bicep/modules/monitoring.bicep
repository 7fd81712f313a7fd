// Log Analytics and workspace-based Application Insights. Local (key) authentication
// is off: telemetry is accepted only when signed by an Entra identity, so the
// connection string in the app's settings names the component and grants nothing.
param name string
param location string
param tags object = {}

@description('Principal that sends the app\'s telemetry.')
param principalId string

@description('Days Log Analytics keeps data.')
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: 'log-${name}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${name}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

// Telemetry with Entra authentication (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).
resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    description: 'integration-dr: send the app\'s telemetry'
  }
}

output id string = appInsights.id
output connectionString string = appInsights.properties.ConnectionString
output workspaceId string = workspace.id
