// One Azure SQL Database failover group, through one side's server: the app's identity
// may read it and fail it over. Assigned on the group itself, narrower than the server.
@description('Resource ID: /subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Sql/servers/{server}/failoverGroups/{group}.')
param failoverGroupId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the SQL failover group role, roles.bicep.')
param roleDefinitionGuid string

resource server 'Microsoft.Sql/servers@2021-11-01' existing = {
  name: split(failoverGroupId, '/')[8]
}

resource failoverGroup 'Microsoft.Sql/servers/failoverGroups@2021-11-01' existing = {
  parent: server
  name: split(failoverGroupId, '/')[10]
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(failoverGroup.id, principalId, roleDefinitionGuid)
  scope: failoverGroup
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: read the roles, fail over on command'
  }
}
