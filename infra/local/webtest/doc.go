// Package webtest drives the staff web app (functions/web) in headless Chromium against
// the whole local stack: a manager's overview checked against the API's own report, an
// agent on a phone-sized screen finding a customer and completing a task, and the
// example lead form ending on the local thank-you page. With TIERFLOW_SCREENSHOTS=<dir>
// (make screenshots) it also writes every page at desktop and phone size.
//
// It needs Debian's chromium (make test installs it, or says so); TIERFLOW_CHROMIUM
// names another binary.
package webtest
