// Package hostsim is a test-only stand-in for the Azure Functions host in front of our
// custom handler. No Functions host can run here, so tests drive the real handler
// binary through this package exactly as the host would: it indexes
// functions/*/function.json and host.json (Load), POSTs invocations to the handler
// with the host's envelope, headers and timeout, reads replies by the host's rules,
// and applies outputs: HTTP responses for HTTP triggers and in-memory Service Bus
// queues with peek-lock delivery, abandon, DeliveryCount and dead-lettering.
//
// The serialization rules follow DESIGN.md ("Custom handler contract"), which cites
// the host's source (DefaultHttpWorkerService, ScriptInvocationContextExtensions,
// HttpScriptInvocationResultExtensions, HttpRequestExtensions.GetRequestAsJObject): a
// string value in Data or Metadata is JSON-encoded once more, numbers arrive as
// strings, byte arrays as base64, objects stay objects, nulls are left out.
//
// Product code must never import this package.
package hostsim
