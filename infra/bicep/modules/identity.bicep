// The app's user-assigned identity: one principal for the host (storage, Service Bus,
// telemetry) and the handler (ARM, Table Storage, SQL), created before the app so that
// its role assignments can be in place when the app first starts.
param name string
param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
