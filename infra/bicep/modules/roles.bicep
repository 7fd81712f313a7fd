// Custom roles holding exactly the ARM actions the adapters call (azure/logic,
// azure/routing, azure/datafactory, azure/sqlfg), and those the artifact mirror
// calls (granted only with main.bicep's mirror and mirrorPrune). The built-in roles are broader: Logic App
// Contributor also creates and deletes workflows and integration accounts, reads
// callback URLs carrying SAS keys and regenerates access keys; Data Factory
// Contributor changes pipelines, linked services and the factory; SQL Server and SQL
// Managed Instance Contributor change or delete the servers and instances.
// infra/infra_test.go fails when an adapter calls an ARM operation a role lacks, or a
// role holds an action no call needs.
targetScope = 'subscription'

param environmentName string

@description('Subscriptions holding the resources the roles are assigned on.')
param assignableScopes array

var suffix = '${environmentName}, ${take(uniqueString(subscription().id), 6)}'

resource b2b 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-b2b')
  properties: {
    roleName: 'integration-dr B2B replication and failover (${suffix})'
    description: 'Read and write integration account sessions, read agreements, read, enable and disable workflows.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Logic/integrationAccounts/sessions/read'
          'Microsoft.Logic/integrationAccounts/sessions/write'
          'Microsoft.Logic/integrationAccounts/agreements/read'
          // Drift reports (readiness) compare every artifact; a schema's or map's
          // content is read through its content link.
          'Microsoft.Logic/integrationAccounts/partners/read'
          'Microsoft.Logic/integrationAccounts/schemas/read'
          'Microsoft.Logic/integrationAccounts/schemas/listContentCallbackUrl/action'
          'Microsoft.Logic/integrationAccounts/maps/read'
          'Microsoft.Logic/integrationAccounts/maps/listContentCallbackUrl/action'
          'Microsoft.Logic/integrationAccounts/certificates/read'
          'Microsoft.Logic/integrationAccounts/batchConfigurations/read'
          'Microsoft.Logic/workflows/read'
          'Microsoft.Logic/workflows/enable/action'
          'Microsoft.Logic/workflows/disable/action'
        ]
        notActions: []
      }
    ]
  }
}

resource dataFactory 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-adf')
  properties: {
    roleName: 'integration-dr SSIS runtimes and triggers (${suffix})'
    description: 'Read, start and stop integration runtimes and triggers of a data factory.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.DataFactory/factories/integrationruntimes/read'
          'Microsoft.DataFactory/factories/integrationruntimes/getstatus/action'
          'Microsoft.DataFactory/factories/integrationruntimes/start/action'
          'Microsoft.DataFactory/factories/integrationruntimes/stop/action'
          'Microsoft.DataFactory/factories/triggers/read'
          'Microsoft.DataFactory/factories/pipelines/read'
          'Microsoft.DataFactory/factories/triggers/start/action'
          'Microsoft.DataFactory/factories/triggers/stop/action'
        ]
        notActions: []
      }
    ]
  }
}

// Remove the forceFailoverAllowDataLoss actions from the two roles below if forced
// failover must stay with a human: ssis-failover with "force": true then fails with 403.
resource sqlFailoverGroup 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-sqlfg')
  properties: {
    roleName: 'integration-dr SQL failover group (${suffix})'
    description: 'Read an Azure SQL Database failover group and fail it over.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Sql/servers/failoverGroups/read'
          'Microsoft.Sql/servers/failoverGroups/failover/action'
          'Microsoft.Sql/servers/failoverGroups/forceFailoverAllowDataLoss/action'
        ]
        notActions: []
      }
    ]
  }
}

resource sqlFailoverStatus 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-sqlfg-status')
  properties: {
    roleName: 'integration-dr SQL failover status (${suffix})'
    description: 'Read the status of Azure SQL Database failover group operations.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Sql/locations/failoverGroupAzureAsyncOperation/read'
          'Microsoft.Sql/locations/failoverGroupOperationResults/read'
        ]
        notActions: []
      }
    ]
  }
}

resource sqlInstanceFailoverGroup 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-mifg')
  properties: {
    roleName: 'integration-dr SQL Managed Instance failover group (${suffix})'
    description: 'Read a SQL Managed Instance failover group, fail it over, and read the operation\'s status.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Sql/locations/instanceFailoverGroups/read'
          'Microsoft.Sql/locations/instanceFailoverGroups/failover/action'
          'Microsoft.Sql/locations/instanceFailoverGroups/forceFailoverAllowDataLoss/action'
          'Microsoft.Sql/locations/instanceFailoverGroupAzureAsyncOperation/read'
          'Microsoft.Sql/locations/instanceFailoverGroupOperationResults/read'
        ]
        notActions: []
      }
    ]
  }
}

resource standardApp 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-standard-app')
  properties: {
    roleName: 'integration-dr Standard workflows (${suffix})'
    description: 'Read a Logic Apps Standard app, list and write its settings: its workflows are switched through Workflows.<name>.FlowState.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Web/sites/read'
          'Microsoft.Web/sites/config/list/action'
          'Microsoft.Web/sites/config/write'
        ]
        notActions: []
      }
    ]
  }
}

resource trafficManager 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-tm')
  properties: {
    roleName: 'integration-dr Traffic Manager routes (${suffix})'
    description: 'Read a Traffic Manager profile and read and write its endpoints (their status).'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Network/trafficManagerProfiles/read'
          'Microsoft.Network/trafficManagerProfiles/azureEndpoints/read'
          'Microsoft.Network/trafficManagerProfiles/azureEndpoints/write'
          'Microsoft.Network/trafficManagerProfiles/externalEndpoints/read'
          'Microsoft.Network/trafficManagerProfiles/externalEndpoints/write'
          'Microsoft.Network/trafficManagerProfiles/nestedEndpoints/read'
          'Microsoft.Network/trafficManagerProfiles/nestedEndpoints/write'
        ]
        notActions: []
      }
    ]
  }
}

resource frontDoor 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-afd')
  properties: {
    roleName: 'integration-dr Front Door routes (${suffix})'
    description: 'Read the origin groups of a Front Door profile, read and write their origins (their enabled state), and read the status of an origin update.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Cdn/profiles/originGroups/read'
          'Microsoft.Cdn/profiles/originGroups/origins/read'
          'Microsoft.Cdn/profiles/originGroups/origins/write'
          'Microsoft.Cdn/operationresults/profileresults/origingroupresults/originresults/read'
        ]
        notActions: []
      }
    ]
  }
}

resource mirrorAccount 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-mirror-ia')
  properties: {
    roleName: 'integration-dr artifact mirror, integration accounts (${suffix})'
    description: 'Write partners, agreements, schemas, maps, certificates and batch configurations of an integration account (the app reads them with its b2b role).'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Logic/integrationAccounts/partners/write'
          'Microsoft.Logic/integrationAccounts/agreements/write'
          'Microsoft.Logic/integrationAccounts/schemas/write'
          'Microsoft.Logic/integrationAccounts/maps/write'
          'Microsoft.Logic/integrationAccounts/certificates/write'
          'Microsoft.Logic/integrationAccounts/batchConfigurations/write'
        ]
        notActions: []
      }
    ]
  }
}

resource mirrorAccountPrune 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-mirror-ia-prune')
  properties: {
    roleName: 'integration-dr artifact mirror prune, integration accounts (${suffix})'
    description: 'Delete partners, agreements, schemas, maps, certificates and batch configurations of an integration account.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.Logic/integrationAccounts/partners/delete'
          'Microsoft.Logic/integrationAccounts/agreements/delete'
          'Microsoft.Logic/integrationAccounts/schemas/delete'
          'Microsoft.Logic/integrationAccounts/maps/delete'
          'Microsoft.Logic/integrationAccounts/certificates/delete'
          'Microsoft.Logic/integrationAccounts/batchConfigurations/delete'
        ]
        notActions: []
      }
    ]
  }
}

resource mirrorFactory 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-mirror-adf')
  properties: {
    roleName: 'integration-dr artifact mirror, data factories (${suffix})'
    description: 'Write pipelines and triggers of a data factory (the app reads them with its data factory role).'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.DataFactory/factories/pipelines/write'
          'Microsoft.DataFactory/factories/triggers/write'
        ]
        notActions: []
      }
    ]
  }
}

resource mirrorFactoryPrune 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'integration-dr-mirror-adf-prune')
  properties: {
    roleName: 'integration-dr artifact mirror prune, data factories (${suffix})'
    description: 'Delete pipelines and triggers of a data factory.'
    type: 'CustomRole'
    assignableScopes: assignableScopes
    permissions: [
      {
        actions: [
          'Microsoft.DataFactory/factories/pipelines/delete'
          'Microsoft.DataFactory/factories/triggers/delete'
        ]
        notActions: []
      }
    ]
  }
}

output b2bRoleGuid string = b2b.name
output dataFactoryRoleGuid string = dataFactory.name
output sqlFailoverGroupRoleGuid string = sqlFailoverGroup.name
output sqlFailoverStatusRoleGuid string = sqlFailoverStatus.name
output sqlInstanceFailoverGroupRoleGuid string = sqlInstanceFailoverGroup.name
output standardAppRoleGuid string = standardApp.name
output trafficManagerRoleGuid string = trafficManager.name
output frontDoorRoleGuid string = frontDoor.name
output mirrorAccountRoleGuid string = mirrorAccount.name
output mirrorAccountPruneRoleGuid string = mirrorAccountPrune.name
output mirrorFactoryRoleGuid string = mirrorFactory.name
output mirrorFactoryPruneRoleGuid string = mirrorFactoryPrune.name
