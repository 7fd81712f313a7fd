// One data factory of an SSIS pair (the factory, not its resource group): the app's
// identity may read, start and stop its integration runtimes and triggers.
@description('Resource ID of the data factory.')
param dataFactoryId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the Data Factory role, roles.bicep.')
param roleDefinitionGuid string

resource factory 'Microsoft.DataFactory/factories@2018-06-01' existing = {
  name: last(split(dataFactoryId, '/'))
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(factory.id, principalId, roleDefinitionGuid)
  scope: factory
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: the SSIS runtime and triggers follow SSISDB'
  }
}
