// integration-dr: the function app, its storage and its identity.
// Deploy: az deployment group create -g <rg> -f infra/bicep/main.bicep -p topology=@topology.json
// then zip-deploy dist/app.zip (make package).

@description('Region of the function app. Put it in the secondary region: it must survive the primary.')
param location string = resourceGroup().location

@description('Name prefix for the resources.')
param name string = 'integrationdr'

@description('DR_TOPOLOGY: the pairs as JSON, see local.settings.json.example.')
param topology string

@description('Resource IDs of every integration account named in the topology, for role assignments.')
param integrationAccountIds array

@description('NCRONTAB schedule of ReplicateSessions.')
param replicationSchedule string = '0 */1 * * * *'

var storageName = take('${toLower(name)}${uniqueString(resourceGroup().id)}', 24)

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_ZRS' }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
  }
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  sku: { name: 'EP1', tier: 'ElasticPremium' }
  kind: 'elastic'
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2023-12-01' = {
  name: '${name}-${uniqueString(resourceGroup().id)}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      linuxFxVersion: ''
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'custom' }
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storage.properties.primaryEndpoints.table }
        { name: 'DR_TOPOLOGY', value: topology }
        { name: 'DR_REPLICATION_SCHEDULE', value: replicationSchedule }
        { name: 'DR_CREDENTIAL', value: 'managedidentity' }
      ]
    }
  }
}

// Built-in role definition IDs.
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var logicAppContributor = '87a39d53-fc1b-424a-814c-f7e04687dc9e'

resource storageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for role in [storageBlobDataOwner, storageQueueDataContributor, storageTableDataContributor]: {
  name: guid(storage.id, app.id, role)
  scope: storage
  properties: {
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
  }
}]

module accountRoles 'integration-account-role.bicep' = [for (id, i) in integrationAccountIds: {
  name: 'ia-role-${i}'
  scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
  params: {
    integrationAccountName: last(split(id, '/'))
    principalId: app.identity.principalId
    roleDefinitionId: logicAppContributor
  }
}]

output functionAppName string = app.name
