// The action group that calls AlertIntake with the common alert schema, and example
// alert rules: a primary workflow failing and the primary integration account
// unavailable (allow-listed in DR_ALERT_RULES to propose a failover), and replication
// lag read from the app's own telemetry (journaled by AlertIntake, never acted on).
param name string
param location string
param tags object = {}

param functionAppId string
param functionAppHostName string
param appInsightsId string

@description('Rules that propose a failover: [{rule, ruleType, pair, target}], ruleType metricAlerts (target a primary workflow) or activityLogAlerts (target a primary integration account); main.bicep allow-lists the same list in DR_ALERT_RULES by resource ID.')
param failoverRules array

param createLagAlert bool = true
param failedRunsThreshold int = 5
param maxLagSeconds int = 600
param notifyEmails array = []

@description('Call AlertIntake as a secure webhook: the action group signs in with Entra ID (useAadAuth) to the app registration below, whose token App Service authentication on the function app checks, and still sends the function key. Off (the default): the Azure Function receiver with the function key alone. docs/alerts.md has the setup.')
param secureWebhook bool = false

@description('Secure webhook: object ID of the Entra app registration the action group gets its token for.')
param webhookAppObjectId string = ''

@description('Secure webhook: that app registration\'s identifier URI (Application ID URI), the token\'s audience.')
param webhookAppIdentifierUri string = ''

// AlertIntake is an HTTP function with authLevel function: the action group calls it
// with the host's default key, read here and kept by Azure Monitor, never in an app
// setting. Rotating the key means deploying again. With secureWebhook the key is sent
// too, behind an Entra token: one group or the other is deployed.
resource intake 'Microsoft.Insights/actionGroups@2023-01-01' = if (!secureWebhook) {
  name: 'ag-${name}-intake'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'dr-intake'
    enabled: true
    azureFunctionReceivers: [
      {
        name: 'AlertIntake'
        functionAppResourceId: functionAppId
        functionName: 'AlertIntake'
        httpTriggerUrl: 'https://${functionAppHostName}/api/alert?code=${listKeys('${functionAppId}/host/default', '2023-12-01').functionKeys.default}'
        useCommonAlertSchema: true
      }
    ]
    emailReceivers: [for (address, i) in notifyEmails: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
  }
}

// The secure webhook: Azure Function receivers cannot sign in with Entra ID, webhook
// receivers can.
resource intakeSecure 'Microsoft.Insights/actionGroups@2023-01-01' = if (secureWebhook) {
  name: 'ag-${name}-intake-aad'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'dr-intake'
    enabled: true
    webhookReceivers: [
      {
        name: 'AlertIntake'
        serviceUri: 'https://${functionAppHostName}/api/alert?code=${listKeys('${functionAppId}/host/default', '2023-12-01').functionKeys.default}'
        useCommonAlertSchema: true
        useAadAuth: true
        objectId: webhookAppObjectId
        identifierUri: webhookAppIdentifierUri
        tenantId: tenant().tenantId
      }
    ]
    emailReceivers: [for (address, i) in notifyEmails: {
      name: 'email-${i}'
      emailAddress: address
      useCommonAlertSchema: true
    }]
  }
}

var intakeGroupId = secureWebhook ? intakeSecure.id : intake.id

var workflowRules = filter(failoverRules, r => r.ruleType == 'metricAlerts')
var accountRules = filter(failoverRules, r => r.ruleType == 'activityLogAlerts')

resource workflowFailing 'Microsoft.Insights/metricAlerts@2018-03-01' = [for r in workflowRules: {
  name: r.rule
  location: 'global'
  tags: tags
  properties: {
    description: 'Runs of a primary workflow of pair ${r.pair} fail; AlertIntake proposes a failover.'
    severity: 1
    enabled: true
    scopes: [
      r.target
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failedRuns'
          metricNamespace: 'Microsoft.Logic/workflows'
          metricName: 'RunsFailed'
          operator: 'GreaterThanOrEqual'
          threshold: failedRunsThreshold
          timeAggregation: 'Total'
        }
      ]
    }
    autoMitigate: true
    actions: [
      {
        actionGroupId: intakeGroupId
      }
    ]
  }
}]

// Resource Health of the primary integration account: Unavailable proposes a failover.
resource accountUnavailable 'Microsoft.Insights/activityLogAlerts@2020-10-01' = [for r in accountRules: {
  name: r.rule
  location: 'global'
  tags: tags
  properties: {
    description: 'The primary integration account of pair ${r.pair} is unavailable; AlertIntake proposes a failover.'
    enabled: true
    scopes: [
      '/subscriptions/${split(r.target, '/')[2]}'
    ]
    condition: {
      allOf: [
        {
          field: 'category'
          equals: 'ResourceHealth'
        }
        {
          field: 'resourceId'
          equals: r.target
        }
        {
          field: 'properties.currentHealthStatus'
          equals: 'Unavailable'
        }
      ]
    }
    actions: {
      actionGroups: [
        {
          actionGroupId: intakeGroupId
        }
      ]
    }
  }
}]

// ReplicateSessions logs one line per pair and run into Application Insights:
// "pair <name>: <scan> scan, listed …, lag <Go duration>" (handlers/handlers.go).
// The lag is unknown ("lag -1s") until a stream's first full sync completes: a new
// pair, a checkpoint reset, a restart after a failover. An unknown lag, or one that
// cannot be read, counts as unknownLagSeconds (10^9 s, above any threshold), so a
// standby that never synced alerts instead of reading as 0 s behind.
var lagQuery = '''
let unknownLagSeconds = 1000000000.0;
traces
| where operation_Name == 'ReplicateSessions' and message startswith 'pair ' and message contains ', lag '
| extend pair = extract(@'^pair ([^:]+):', 1, message), lag = extract(@', lag (-?[0-9hms.]+)', 1, message)
| extend lagSeconds = iff(isempty(lag) or lag startswith '-', unknownLagSeconds,
    iff(lag endswith 'ms', todouble(replace_string(lag, 'ms', '')) / 1000.0,
    coalesce(todouble(extract(@'([0-9]+)h', 1, lag)), 0.0) * 3600.0
    + coalesce(todouble(extract(@'([0-9]+)m', 1, lag)), 0.0) * 60.0
    + coalesce(todouble(extract(@'([0-9.]+)s$', 1, lag)), 0.0)))
| project timestamp, pair, lagSeconds
'''

resource replicationLag 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = if (createLagAlert) {
  name: 'replication-lag-${name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'integration-dr replication lag (${name})'
    description: 'A pair\'s replication lag is above ${maxLagSeconds} s, or unknown (no full sync has completed; reported as 1000000000 s). Not in DR_ALERT_RULES: AlertIntake journals it and starts nothing.'
    severity: 2
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: lagQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'lagSeconds'
          dimensions: [
            {
              name: 'pair'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: maxLagSeconds
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    autoMitigate: true
    actions: {
      actionGroups: [
        intakeGroupId
      ]
    }
  }
}

output actionGroupId string = intakeGroupId
