// integration-dr: the function app in the SECONDARY region, what it runs on, and the
// least rights its identity needs on the resources it keeps in step. Deployed at
// subscription scope by `azd up` or `make deploy`; parameters in main.bicepparam.
//
// infra/infra_test.go reads these files (no Bicep compiler runs in CI): the app
// settings below must be the ones config.Settings() says a deployment sets, the queue
// and routes the ones function.json binds, and every role the code's ARM calls need
// must be assigned here at the narrowest scope, with no action they do not need.
targetScope = 'subscription'

@minLength(2)
@maxLength(24)
@description('Environment name (azd: AZURE_ENV_NAME): letters, digits and hyphens. Names, tags and role names derive from it.')
param environmentName string

@description('Region of the app: the SECONDARY region, which must outlive the primary. Flex Consumption must be offered there.')
param location string

@description('Resource group of the app, created if missing. Default: rg-<environmentName>.')
param resourceGroupName string = ''

@description('DR_TOPOLOGY as an object (see local.settings.json.example): pairs and ssisPairs. Role assignments are derived from it.')
param topology object

@description('DR_ALERT_RULES entries for alert rules of your own that may start an operation: [{ruleId, pair, action, mode, targets}], ruleId the rule\'s resource ID (docs/alerts.md). The example rules created here are added.')
param alertRules array = []

@description('NCRONTAB schedule of ReplicateSessions (DR_REPLICATION_SCHEDULE).')
param replicationSchedule string = '0 */1 * * * *'

@description('NCRONTAB schedule of AdvanceOperations (DR_OPERATIONS_SCHEDULE).')
param operationsSchedule string = '*/10 * * * * *'

@description('NCRONTAB schedule of ReconcileSSIS (DR_SSIS_SCHEDULE).')
param ssisSchedule string = '0 */1 * * * *'

@description('Service Bus queue of commands (DR_COMMAND_QUEUE).')
param commandQueueName string = 'dr-commands'

@description('Table of checkpoints, active-region records and the journal (DR_STATE_TABLE).')
param stateTableName string = 'drstate'

@description('Redundancy of the storage account (state, host, deployment package).')
param storageSku string = 'Standard_ZRS'

@description('Instances kept warm for the HTTP functions (AlertIntake) and for RunCommand, so that no cold start sits in a failover\'s RTO. 0 lets them scale to zero.')
param alwaysReadyInstances int = 1

@minValue(1)
@description('Most instances any one function scales to.')
param maximumInstanceCount int = 40

@description('Grant the artifact mirror its rights: write partners, agreements, schemas, maps, certificates and batch configurations on each integration account, and pipelines and triggers on each data factory. Reading them (drift reports) is always granted.')
param mirror bool = false

@description('With mirror: also let the mirror delete what the source side no longer has (prune).')
param mirrorPrune bool = false

@description('Create the example alert rules: a primary workflow failing and the primary integration account unavailable (both propose a failover).')
param createExampleAlerts bool = true

@description('Failed runs of a primary workflow within 5 minutes that make its example rule fire.')
param failedRunsThreshold int = 5

@description('Create the alerts an operator expects: replication stopped, lag above maxLagSeconds, a dead-lettered command, an operation failed or past expectedRtoSeconds (docs/alerts.md).')
param createOperatorAlerts bool = true

@description('Replication lag, in seconds, above which the lag alert fires: the topology\'s maxLag (10m by default).')
param maxLagSeconds int = 600

@description('Minutes without a successful replication run after which the replication-stopped alert fires (10, 15, 30, 45 or 60).')
param replicationSilenceMinutes int = 15

@description('Seconds an operation may wait on its RTO clock before the overdue-operation alert fires; a failed operation fires at once.')
param expectedRtoSeconds int = 900

@description('E-mail addresses the example alerts also notify.')
param notifyEmails array = []

@description('Call AlertIntake as a secure webhook with Entra ID and put App Service authentication in front of the app (docs/alerts.md). Off: the function key alone, the default.')
param secureWebhook bool = false

@description('Secure webhook: object ID of the Entra app registration the action group signs in to.')
param webhookAppObjectId string = ''

@description('Secure webhook: client (application) ID of that app registration.')
param webhookAppClientId string = ''

@description('Secure webhook: identifier URI (Application ID URI) of that app registration, e.g. api://<client ID>.')
param webhookAppIdentifierUri string = ''

var token = take(uniqueString(subscription().id, environmentName, location), 8)
var rgName = empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
var tags = {
  'azd-env-name': environmentName
}

// What the app acts on, read from the topology (the same JSON config.Load validates).
var pairs = topology.?pairs ?? []
var ssisSides = flatten(map(topology.?ssisPairs ?? [], p => [p.primary, p.secondary]))
var integrationAccountIds = union(map(flatten(map(pairs, p => [p.primary, p.secondary])), id => toLower(id)), [])
var allWorkflowIds = union(map(flatten(map(pairs, p => concat(p.?failover.?primaryWorkflows ?? [], p.?failover.?secondaryWorkflows ?? []))), id => toLower(id)), [])
// Consumption workflows (…/Microsoft.Logic/workflows/{name}) are switched on the
// workflow; Standard ones (…/Microsoft.Web/sites/{app}/workflows/{name}) through their
// app's settings, so the role goes on the app.
var workflowIds = filter(allWorkflowIds, id => split(id, '/')[6] == 'microsoft.logic')
var standardAppIds = union(map(filter(allWorkflowIds, id => split(id, '/')[6] == 'microsoft.web'), id => join(take(split(id, '/'), 9), '/')), [])
// Routes: Traffic Manager endpoints (…/trafficManagerProfiles/{profile}/{type}/{name})
// and Front Door origins (…/Microsoft.Cdn/profiles/{profile}/originGroups/{g}/origins/{name});
// the role goes on the profile, the narrowest scope holding the endpoint or origin.
var routeIds = union(map(flatten(map(pairs, p => concat(p.?failover.?primaryRoutes ?? [], p.?failover.?secondaryRoutes ?? []))), id => toLower(id)), [])
var trafficManagerProfileIds = union(map(filter(routeIds, id => split(id, '/')[6] == 'microsoft.network'), id => join(take(split(id, '/'), 9), '/')), [])
var frontDoorProfileIds = union(map(filter(routeIds, id => split(id, '/')[6] == 'microsoft.cdn'), id => join(take(split(id, '/'), 9), '/')), [])
var dataFactoryIds = union(map(ssisSides, s => toLower(s.dataFactory)), [])
// A failover group's ID through its side: .../Microsoft.Sql/servers/{server}/failoverGroups/{group}
// (Azure SQL Database) or .../Microsoft.Sql/locations/{location}/instanceFailoverGroups/{group}
// (Managed Instance).
var failoverGroupIds = union(map(ssisSides, s => toLower(s.failoverGroup)), [])
var databaseFailoverGroupIds = filter(failoverGroupIds, id => split(id, '/')[9] == 'failovergroups')
var instanceFailoverGroupIds = filter(failoverGroupIds, id => split(id, '/')[9] == 'instancefailovergroups')
var databaseGroupResourceGroups = union(map(databaseFailoverGroupIds, id => join(take(split(id, '/'), 5), '/')), [])
var instanceGroupResourceGroups = union(map(instanceFailoverGroupIds, id => join(take(split(id, '/'), 5), '/')), [])
var targetSubscriptions = union(map(concat(integrationAccountIds, allWorkflowIds, routeIds, dataFactoryIds, failoverGroupIds), id => '/subscriptions/${split(id, '/')[2]}'), [subscription().id])

// The example rules that may propose a failover: created in alerts.bicep, in the app's
// resource group, and allow-listed in DR_ALERT_RULES by their resource IDs from this
// one list (ruleType is the rule's resource type, which alerts.bicep creates it as).
var workflowRules = flatten(map(pairs, p => map(p.?failover.?primaryWorkflows ?? [], w => {
  rule: '${p.name}-${last(split(w, '/'))}-failing'
  ruleType: 'metricAlerts'
  pair: p.name
  target: w
})))
var accountRules = map(pairs, p => {
  rule: '${p.name}-primary-account-unavailable'
  ruleType: 'activityLogAlerts'
  pair: p.name
  target: p.primary
})
var exampleFailoverRules = createExampleAlerts ? concat(workflowRules, accountRules) : []
var allowList = concat(alertRules, map(exampleFailoverRules, r => {
  ruleId: '${subscription().id}/resourceGroups/${rgName}/providers/Microsoft.Insights/${r.ruleType}/${r.rule}'
  pair: r.pair
  action: 'failover'
  mode: 'propose'
}))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: rgName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${environmentName}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: environmentName
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stdr${uniqueString(subscription().id, environmentName, location)}'
    location: location
    tags: tags
    skuName: storageSku
    deploymentContainerName: 'app-package'
    stateTableName: stateTableName
    principalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: 'sb-${environmentName}-${token}'
    location: location
    tags: tags
    queueName: commandQueueName
    principalId: identity.outputs.principalId
  }
}

// Every setting the app reads in Azure, and nothing else: no key, no connection string
// with a secret. The identity reaches storage, Service Bus, ARM and telemetry.
var appSettings = {
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  AzureWebJobsStorage__tableServiceUri: storage.outputs.tableEndpoint
  ServiceBusConnection__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
  ServiceBusConnection__credential: 'managedidentity'
  ServiceBusConnection__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identity.outputs.clientId}'
  AZURE_CLIENT_ID: identity.outputs.clientId
  DR_CREDENTIAL: 'managedidentity'
  DR_TOPOLOGY: string(topology)
  DR_ALERT_RULES: string({
    rules: allowList
  })
  DR_COMMAND_QUEUE: commandQueueName
  DR_STATE_TABLE: stateTableName
  DR_REPLICATION_SCHEDULE: replicationSchedule
  DR_OPERATIONS_SCHEDULE: operationsSchedule
  DR_SSIS_SCHEDULE: ssisSchedule
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-${environmentName}-${token}'
    planName: 'plan-${environmentName}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    appSettings: appSettings
    alwaysReadyInstances: alwaysReadyInstances
    maximumInstanceCount: maximumInstanceCount
    secureWebhook: secureWebhook
    webhookAppClientId: webhookAppClientId
    webhookAppIdentifierUri: webhookAppIdentifierUri
  }
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    name: environmentName
    location: location
    tags: tags
    functionAppId: app.outputs.id
    functionAppHostName: app.outputs.defaultHostName
    appInsightsId: monitoring.outputs.id
    failoverRules: exampleFailoverRules
    createOperatorAlerts: createOperatorAlerts
    failedRunsThreshold: failedRunsThreshold
    maxLagSeconds: maxLagSeconds
    replicationSilenceMinutes: replicationSilenceMinutes
    expectedRtoSeconds: expectedRtoSeconds
    serviceBusNamespaceId: serviceBus.outputs.id
    commandQueueName: serviceBus.outputs.queueName
    notifyEmails: notifyEmails
    secureWebhook: secureWebhook
    webhookAppObjectId: webhookAppObjectId
    webhookAppIdentifierUri: webhookAppIdentifierUri
  }
}

// Custom roles: exactly the ARM actions the adapters call, nothing else.
module roles 'modules/roles.bicep' = {
  name: 'roles'
  params: {
    environmentName: environmentName
    assignableScopes: targetSubscriptions
  }
}

module integrationAccountAccess 'modules/access-integration-account.bicep' = [for (id, i) in integrationAccountIds: {
  name: 'access-ia-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    integrationAccountId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.b2bRoleGuid
  }
}]

module workflowAccess 'modules/access-workflow.bicep' = [for (id, i) in workflowIds: {
  name: 'access-wf-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    workflowId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.b2bRoleGuid
  }
}]

module standardAppAccess 'modules/access-standard-app.bicep' = [for (id, i) in standardAppIds: {
  name: 'access-app-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    siteId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.standardAppRoleGuid
  }
}]

module trafficManagerAccess 'modules/access-traffic-manager.bicep' = [for (id, i) in trafficManagerProfileIds: {
  name: 'access-tm-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    profileId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.trafficManagerRoleGuid
  }
}]

module frontDoorAccess 'modules/access-front-door.bicep' = [for (id, i) in frontDoorProfileIds: {
  name: 'access-afd-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    profileId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.frontDoorRoleGuid
  }
}]

// The artifact mirror's rights, only when it is turned on; delete only with prune.
module mirrorAccountAccess 'modules/access-integration-account.bicep' = [for (id, i) in (mirror ? integrationAccountIds : []): {
  name: 'access-ia-mirror-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    integrationAccountId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.mirrorAccountRoleGuid
  }
}]

module mirrorAccountPruneAccess 'modules/access-integration-account.bicep' = [for (id, i) in (mirror && mirrorPrune ? integrationAccountIds : []): {
  name: 'access-ia-prune-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    integrationAccountId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.mirrorAccountPruneRoleGuid
  }
}]

module mirrorFactoryAccess 'modules/access-data-factory.bicep' = [for (id, i) in (mirror ? dataFactoryIds : []): {
  name: 'access-adf-mirror-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    dataFactoryId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.mirrorFactoryRoleGuid
  }
}]

module mirrorFactoryPruneAccess 'modules/access-data-factory.bicep' = [for (id, i) in (mirror && mirrorPrune ? dataFactoryIds : []): {
  name: 'access-adf-prune-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    dataFactoryId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.mirrorFactoryPruneRoleGuid
  }
}]

module dataFactoryAccess 'modules/access-data-factory.bicep' = [for (id, i) in dataFactoryIds: {
  name: 'access-adf-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    dataFactoryId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.dataFactoryRoleGuid
  }
}]

module databaseFailoverGroupAccess 'modules/access-sql-failover-group.bicep' = [for (id, i) in databaseFailoverGroupIds: {
  name: 'access-sqlfg-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    failoverGroupId: id
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.sqlFailoverGroupRoleGuid
  }
}]

// A database failover's status is polled at .../resourceGroups/{g}/providers/Microsoft.Sql/locations/{l}/failoverGroupAzureAsyncOperation/{id}:
// a resource-group path, so its read is granted there, alone.
module databaseFailoverStatusAccess 'modules/access-resource-group.bicep' = [for (id, i) in databaseGroupResourceGroups: {
  name: 'access-sqlfg-status-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.sqlFailoverStatusRoleGuid
    purpose: 'read the status of a failover of an Azure SQL Database failover group'
  }
}]

// Instance failover groups live under .../resourceGroups/{g}/providers/Microsoft.Sql/locations/{l}:
// the resource group is the narrowest scope a role can be assigned at.
module instanceFailoverGroupAccess 'modules/access-resource-group.bicep' = [for (id, i) in instanceGroupResourceGroups: {
  name: 'access-mifg-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    principalId: identity.outputs.principalId
    roleDefinitionGuid: roles.outputs.sqlInstanceFailoverGroupRoleGuid
    purpose: 'read and fail over SQL Managed Instance failover groups'
  }
}]

output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = app.outputs.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_PRINCIPAL_ID string = identity.outputs.principalId
output SERVICE_BUS_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output STATUS_URL string = 'https://${app.outputs.defaultHostName}/api/status'
