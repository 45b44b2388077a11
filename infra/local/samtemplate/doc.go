// Package samtemplate reads the project's AWS SAM template (template.yaml) into the plain
// values the local runtime needs: the table, the queues and their redrive, the HTTP API
// (CORS, JWT authorizers, routes), and each function with its settings, events and
// environment. template.yaml stays the single source of truth: the local runtime creates
// resources and wires events from what this package returns, never from a second list.
//
// CloudFormation intrinsics are resolved here. Parameters and pseudo parameters resolve at
// Load; references to resources (a queue's URL, a table's name) resolve later through a
// Resolver, because only the code that created those resources knows their values.
// Supported intrinsics: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, in
// short (!Ref) and long (Ref:) form. Anything else fails with the path where it was met.
package samtemplate
