// One Logic Apps workflow that runs only where its side is active: the app's identity
// may read, enable and disable it, and nothing else.
@description('Resource ID of the workflow.')
param workflowId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the B2B role, roles.bicep.')
param roleDefinitionGuid string

resource workflow 'Microsoft.Logic/workflows@2019-05-01' existing = {
  name: last(split(workflowId, '/'))
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(workflow.id, principalId, roleDefinitionGuid)
  scope: workflow
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: stop and start intake on failover'
  }
}
