// The command queue: AlertIntake (and drctl) send to it, RunCommand takes from it.
// Local (SAS) authentication is off; the app's identity may receive and send on this
// queue and nothing else.
param name string
param location string
param tags object = {}

@description('DR_COMMAND_QUEUE.')
param queueName string

@description('The app\'s identity.')
param principalId string

@description('Deliveries before a command is dead-lettered (the README\'s "10 by default").')
param maxDeliveryCount int = 10

@description('How long a command may wait to be run; an expired one is dead-lettered, not run late.')
param commandTimeToLive string = 'P1D'

resource sbNamespace 'Microsoft.ServiceBus/namespaces@2021-11-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

// The lock outlasts one RunCommand invocation (DR_RUN_LEASE plus a minute, 3 minutes
// by default; host.json also renews it for up to 5): a plan step is never handed to a
// second instance while it runs. 5 minutes is Service Bus's maximum.
resource queue 'Microsoft.ServiceBus/namespaces/queues@2021-11-01' = {
  parent: sbNamespace
  name: queueName
  properties: {
    lockDuration: 'PT5M'
    maxDeliveryCount: maxDeliveryCount
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: commandTimeToLive
    requiresSession: false
    requiresDuplicateDetection: false
    enablePartitioning: false
  }
}

var serviceBusDataReceiver = '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
var serviceBusDataSender = '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'

// RunCommand's trigger.
resource receiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, serviceBusDataReceiver)
  scope: queue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataReceiver)
    description: 'integration-dr: RunCommand takes commands'
  }
}

// AlertIntake's output binding.
resource sender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(queue.id, principalId, serviceBusDataSender)
  scope: queue
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', serviceBusDataSender)
    description: 'integration-dr: AlertIntake queues commands'
  }
}

output id string = sbNamespace.id
output name string = sbNamespace.name
output queueName string = queue.name
// host only, no scheme or port: <namespace>.servicebus.windows.net
output fullyQualifiedNamespace string = replace(replace(sbNamespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
