// Package resources creates, in the emulators, the resources template.yaml declares: the
// DynamoDB table (keys, GSIs, LSIs, TTL, stream) and the SQS queues (attributes, and
// RedrivePolicy to the DLQ's ARN, DLQs created first). Nothing about a resource is
// written here: every name and setting comes from samtemplate.
//
// The result, Created, is the samtemplate.Resolver the local runtime resolves function
// environments with: Ref of the table is its name, Ref of a queue its URL, GetAtt Arn
// and QueueName what the emulator reports.
package resources
