// Package lambdart runs a function's deployable bootstrap binary locally behind an
// emulated Lambda Runtime API: the same HTTP protocol aws-lambda-go speaks to Lambda
// (GET /2018-06-01/runtime/invocation/next, POST .../{id}/response, .../{id}/error and
// /runtime/init/error).
//
// A Pool owns the processes of one function. Like Lambda, each process (a "sandbox")
// serves one invocation at a time; the pool starts more on demand up to a maximum, kills a
// process that runs past the function's timeout or that crashes, reports that invocation as
// failed and starts a fresh process in its place. Each sandbox has its own Runtime API
// listener on 127.0.0.1, so the pool always knows which process holds which invocation.
package lambdart
