// Package message owns the customer-facing wording: a catalog of templates in zh-CN and
// en, rendered safely (html/template for email HTML, text/template for text and SMS).
// A variable the template needs but the caller did not supply is an error, never an
// empty message. Email templates carry {{.UnsubscribeURL}} so every email has a working
// one-click opt-out.
package message
