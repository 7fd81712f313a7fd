// One Traffic Manager profile holding a pair's routes: the app's identity may read it
// and read and write its endpoints (a move disables the old side's, enables the new
// side's), on this profile only.
@description('Resource ID of the profile.')
param profileId string

@description('The app\'s identity.')
param principalId string

@description('Name (GUID) of the Traffic Manager role, roles.bicep.')
param roleDefinitionGuid string

resource profile 'Microsoft.Network/trafficManagerProfiles@2022-04-01' existing = {
  name: last(split(profileId, '/'))
}

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(profile.id, principalId, roleDefinitionGuid)
  scope: profile
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    description: 'integration-dr: route partners to the active side'
  }
}
