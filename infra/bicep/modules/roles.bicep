// Custom roles holding exactly the ARM actions the adapters call (azure/logic,
// azure/datafactory, azure/sqlfg). The built-in roles are broader: Logic App
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

output b2bRoleGuid string = b2b.name
output dataFactoryRoleGuid string = dataFactory.name
output sqlFailoverGroupRoleGuid string = sqlFailoverGroup.name
output sqlFailoverStatusRoleGuid string = sqlFailoverStatus.name
output sqlInstanceFailoverGroupRoleGuid string = sqlInstanceFailoverGroup.name
