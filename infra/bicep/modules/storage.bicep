// The app's storage account: host storage (keys, timer leases), the Flex Consumption
// deployment package, and the state table (checkpoints, active-region records, the
// journal). Shared keys are disabled: everything is reached with the app's identity.
param name string
param location string
param tags object = {}
param skuName string = 'Standard_ZRS'

@description('Blob container the platform deploys the app package from.')
param deploymentContainerName string

@description('Table of checkpoints and the journal (DR_STATE_TABLE); the app also creates it if missing.')
param stateTableName string

@description('The app\'s identity.')
param principalId string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
  }

  resource blobs 'blobServices' = {
    name: 'default'

    resource deployments 'containers' = {
      name: deploymentContainerName
    }
  }

  resource tables 'tableServices' = {
    name: 'default'

    resource state 'tables' = {
      name: stateTableName
    }
  }
}

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

// The Functions host with an identity-based AzureWebJobsStorage needs Blob Data Owner:
// it creates its containers (keys, timer leases); the platform reads the package.
resource hostStorage 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    description: 'integration-dr: Functions host storage and the deployment package'
  }
}

// Checkpoints and the journal (aztables). On the account: the app creates the table
// when it is missing, which a table-scoped assignment does not allow.
resource stateTables 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, storageTableDataContributor)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    description: 'integration-dr: checkpoints, active-region records and the journal'
  }
}

output name string = storage.name
output tableEndpoint string = storage.properties.primaryEndpoints.table
output deploymentContainerUrl string = '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
