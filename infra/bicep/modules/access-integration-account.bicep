// One integration account (in this module's resource group): the app's identity may
// read and write its sessions and read its agreements, on this account only.
@description('Resource ID of the integration account.')
param integrationAccountId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the B2B role, roles.bicep.')
param roleDefinitionGuid string

resource account 'Microsoft.Logic/integrationAccounts@2019-05-01' existing = {
  name: last(split(integrationAccountId, '/'))
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, roleDefinitionGuid)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: replicate sessions, read agreements'
  }
}
