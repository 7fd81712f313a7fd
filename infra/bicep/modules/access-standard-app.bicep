// One Logic Apps Standard app whose workflows run only where their side is active: the
// app's identity may read the app and list and write its settings (a workflow is
// switched through Workflows.<name>.FlowState), on this app only.
@description('Resource ID of the app (Microsoft.Web/sites).')
param siteId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the Standard workflows role, roles.bicep.')
param roleDefinitionGuid string

resource site 'Microsoft.Web/sites@2023-12-01' existing = {
  name: last(split(siteId, '/'))
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(site.id, principalId, roleDefinitionGuid)
  scope: site
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: stop and start Standard workflows on failover'
  }
}
