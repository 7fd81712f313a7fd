// The function app: a custom handler (the Go binary `handler`) on a Flex Consumption
// plan, with the user-assigned identity for everything it reaches, including the
// container it is deployed from. See README, Deploy, for why Flex Consumption.
param name string
param planName string
param location string
param tags object = {}

@description('Resource ID of the app\'s user-assigned identity.')
param identityId string

@description('Blob container URL the platform deploys the package from.')
param deploymentContainerUrl string

@description('App settings, name to value, every value a string (main.bicep).')
param appSettings object

@description('Instances kept warm for the HTTP functions and for RunCommand.')
param alwaysReadyInstances int = 1

@description('Most instances any one function scales to.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory of an instance; the handler peaks near 50 MB, 2048 is the platform\'s default.')
param instanceMemoryMB int = 2048

@description('App Service authentication for the secure webhook (docs/alerts.md): every path but the Status function needs an Entra token for the app registration below. Off by default: function keys alone.')
param secureWebhook bool = false

@description('Secure webhook: client (application) ID of the Entra app registration.')
param webhookAppClientId string = ''

@description('Secure webhook: that app registration\'s identifier URI, the audience of the action group\'s token.')
param webhookAppIdentifierUri string = ''

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'app'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        // AlertIntake (the HTTP group) and RunCommand are the failover's path: warm.
        // The timers wake the app on their own schedules.
        alwaysReady: [
          {
            name: 'http'
            instanceCount: alwaysReadyInstances
          }
          {
            name: 'function:RunCommand'
            instanceCount: alwaysReadyInstances
          }
        ]
      }
      // FUNCTIONS_WORKER_RUNTIME=custom, said the Flex Consumption way: the app setting
      // is refused on this plan.
      runtime: {
        name: 'custom'
        version: '1.0'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [for setting in items(appSettings): {
        name: setting.key
        value: setting.value
      }]
    }
  }
}

// Deployments go through Entra ID (azd, az CLI); no publishing passwords.
resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2023-12-01' = {
  parent: app
  name: 'ftp'
  properties: {
    allow: false
  }
}

// The action group's token is checked before the host sees the request; the function
// key is still checked after. Status stays on its key alone: operators' tools read it.
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (secureWebhook) {
  parent: app
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/api/status'
      ]
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: webhookAppClientId
          openIdIssuer: 'https://sts.windows.net/${tenant().tenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [
            webhookAppIdentifierUri
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

output id string = app.id
output name string = app.name
output defaultHostName string = app.properties.defaultHostName
