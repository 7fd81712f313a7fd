// A role on this module's resource group, for what ARM only places under a resource
// group: SQL Managed Instance failover groups (…/locations/{l}/instanceFailoverGroups)
// and the status of SQL failover operations. The roles given here hold only those
// actions, so the resource group scope grants nothing else.
@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the role, roles.bicep.')
param roleDefinitionGuid string

@description('What the assignment is for, shown on it.')
param purpose string

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, principalId, roleDefinitionGuid)
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: ${purpose}'
  }
}
