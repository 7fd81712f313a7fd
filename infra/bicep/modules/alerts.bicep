// The action group that calls AlertIntake with the common alert schema; example alert
// rules, a primary workflow failing and the primary integration account unavailable
// (allow-listed in DR_ALERT_RULES to propose a failover); and the alerts an operator
// expects, which are not allow-listed (AlertIntake journals them, they start nothing,
// the group's e-mail receivers tell the operator): replication has not succeeded for a
// while, replication lag above maxLag, a dead-lettered command, an operation waiting
// or failed past its expected RTO. docs/alerts.md lists them and the fields they read.
param name string
param location string
param tags object = {}

param functionAppId string
param functionAppHostName string
param appInsightsId string

@description('Rules that propose a failover: [{rule, ruleType, pair, target}], ruleType metricAlerts (target a primary workflow) or activityLogAlerts (target a primary integration account); main.bicep allow-lists the same list in DR_ALERT_RULES by resource ID.')
param failoverRules array

@description('Create the alerts an operator expects (replication stopped, lag, dead letters, overdue operations).')
param createOperatorAlerts bool = true
param failedRunsThreshold int = 5

@description('Replication lag, in seconds, above which the lag alert fires (the topology\'s maxLag, 10m by default).')
param maxLagSeconds int = 600

@allowed([
  10
  15
  30
  45
  60
])
@description('Minutes without a successful ReplicateSessions run after which the replication-stopped alert fires.')
param replicationSilenceMinutes int = 15

@description('Seconds an operation may wait (accepted, running, waiting) on its RTO clock before the overdue-operation alert fires; a failed operation fires at once.')
param expectedRtoSeconds int = 900

@description('The Service Bus namespace of the command queue, and the queue (DR_COMMAND_QUEUE).')
param serviceBusNamespaceId string
param commandQueueName string

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

// ReplicateSessions logs, per pair and run, one JSON line into Application Insights
// (a trace under operation_Name ReplicateSessions; handlers/events.go):
// {"event":"replication","pair":…,"outcome":…,"lagSeconds":…}. The lag is unknown
// (-1) until a stream's first full sync completes: a new pair, a checkpoint reset, a
// restart after a failover. An unknown lag counts as unknownLagSeconds (10^9 s, above
// any threshold), so a standby that never synced alerts instead of reading as 0 s.
var lagQuery = '''
let unknownLagSeconds = 1000000000.0;
traces
| where operation_Name == 'ReplicateSessions' and message startswith '{'
| extend e = parse_json(message)
| where tostring(e.event) == 'replication'
| extend pair = tostring(e.pair), lagSeconds = todouble(e.lagSeconds)
| extend lagSeconds = iff(isnull(lagSeconds) or lagSeconds < 0, unknownLagSeconds, lagSeconds)
| project timestamp, pair, lagSeconds
'''

resource replicationLag 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = if (createOperatorAlerts) {
  name: 'replication-lag-${name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'integration-dr replication lag (${name})'
    description: 'A pair\'s replication lag (lagSeconds) is above ${maxLagSeconds} s, or unknown (no full sync has completed). Not in DR_ALERT_RULES: AlertIntake journals it and starts nothing.'
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

// The Functions host records a request for every invocation, with its success, whatever
// the handler logs: a handler that crashed, hangs, or never starts, a timer that no
// longer fires, all leave no successful request. Counted without a by-clause, no rows
// count as 0, so "no data" fires the rule.
var replicationSucceededQuery = '''
requests
| where operation_Name == 'ReplicateSessions' and success == true
| project timestamp
'''

resource replicationStopped 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = if (createOperatorAlerts) {
  name: 'replication-stopped-${name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'integration-dr replication stopped (${name})'
    description: 'No run of ReplicateSessions has succeeded for ${replicationSilenceMinutes} minutes (from the requests the Functions host records, so it fires when the handler is silent too): the standby falls behind. Not in DR_ALERT_RULES.'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT${replicationSilenceMinutes}M'
    criteria: {
      allOf: [
        {
          query: replicationSucceededQuery
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
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

// A command the queue gave up on (max delivery count, or expired): the operation it
// asked for never ran to its end. The journal says why (drctl journal).
resource deadLettered 'Microsoft.Insights/metricAlerts@2018-03-01' = if (createOperatorAlerts) {
  name: 'commands-dead-lettered-${name}'
  location: 'global'
  tags: tags
  properties: {
    description: 'A command on queue ${commandQueueName} was dead-lettered: its operation did not run to its end. Read the journal (drctl journal) and the dead-letter queue. Not in DR_ALERT_RULES.'
    severity: 1
    enabled: true
    scopes: [
      serviceBusNamespaceId
    ]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'deadLettered'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: [
                commandQueueName
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
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
}

// RunCommand and AdvanceOperations log, per operation they leave, one JSON line:
// {"event":"operation","pair":…,"operationId":…,"action":…,"step":…,"outcome":…,"ageSeconds":…}
// (ageSeconds: time on the operation's RTO clock). The latest line of each operation
// decides: failed fires at once (failedSeconds, above any threshold); accepted,
// running or waiting fire once their age passes the expected RTO. AdvanceOperations
// resumes waiting operations on every tick, so their age keeps being logged.
var operationsQuery = '''
let failedSeconds = 1000000000.0;
traces
| where operation_Name in ('RunCommand', 'AdvanceOperations') and message startswith '{'
| extend e = parse_json(message)
| where tostring(e.event) == 'operation'
| extend operationId = tostring(e.operationId), pair = tostring(e.pair), step = tostring(e.step), outcome = tostring(e.outcome), ageSeconds = todouble(e.ageSeconds)
| summarize arg_max(timestamp, pair, step, outcome, ageSeconds) by operationId
| where outcome in ('failed', 'accepted', 'running', 'waiting')
| extend ageSeconds = iff(outcome == 'failed', failedSeconds, coalesce(ageSeconds, 0.0))
| project timestamp, pair, operationId, step, outcome, ageSeconds
'''

resource operationOverdue 'Microsoft.Insights/scheduledQueryRules@2022-06-15' = if (createOperatorAlerts) {
  name: 'operation-overdue-${name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'integration-dr operation failed or past its RTO (${name})'
    description: 'An operation failed, or has waited longer than its expected RTO (${expectedRtoSeconds} s) at the step named in the alert. Read it with drctl journal. Not in DR_ALERT_RULES.'
    severity: 1
    enabled: true
    scopes: [
      appInsightsId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: operationsQuery
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'ageSeconds'
          dimensions: [
            {
              name: 'pair'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'operationId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: expectedRtoSeconds
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
