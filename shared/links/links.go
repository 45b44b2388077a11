// Package links builds the links customer-facing messages carry: the unsubscribe link,
// the survey link and the double opt-in confirmation link, all under PUBLIC_BASE_URL and
// served by the public API. A link names a customer only by an opaque token the store
// keeps (no personal data, no internal id), and the confirmation token is issued for
// one reminder as its message is sent. It implements the Links and ConsentLinks ports of
// shared/followup/app; the dispatch function wires it.
package links

import (
	"context"
	"net/url"
	"strings"

	"github.com/tierflow/tierflow/shared/followup"
	"github.com/tierflow/tierflow/shared/followup/app"
)

// The public API's paths the links point to (functions/public-api/routes.go).
const (
	UnsubscribePath = "/v1/unsubscribe"
	SurveyPath      = "/v1/feedback"
	ConsentPath     = "/v1/consent/confirm"
)

// Tokens hands out the customer's unsubscribe token (store.Contacts): the one the
// dispatcher's contact read loaded, "" for none.
type Tokens interface {
	Token(customerID string) string
}

// ConsentTokens issues the single-use token of a double opt-in confirmation
// (store.Consents); app.ErrNotFound when there is nothing left to confirm.
type ConsentTokens interface {
	Issue(ctx context.Context, r followup.Reminder) (string, error)
}

// Links builds the links under one base URL.
type Links struct {
	base    string
	tokens  Tokens
	consent ConsentTokens
}

var (
	_ app.Links        = (*Links)(nil)
	_ app.ConsentLinks = (*Links)(nil)
)

// New returns the links under base (PUBLIC_BASE_URL; a trailing slash is dropped). With
// an empty base there are no links: a message that needs one fails for the missing
// variable rather than go out without it.
func New(base string, tokens Tokens, consent ConsentTokens) *Links {
	return &Links{base: strings.TrimRight(base, "/"), tokens: tokens, consent: consent}
}

// Unsubscribe implements app.Links: the one-click unsubscribe link, "" for a customer
// without a token (never a wrong one).
func (l *Links) Unsubscribe(customerID string) string {
	tok := l.token(customerID)
	if tok == "" {
		return ""
	}
	return l.base + UnsubscribePath + "?t=" + url.QueryEscape(tok)
}

// Survey implements app.Links: the same token, plus the survey reminder as the answer's
// reference.
func (l *Links) Survey(reminderID, customerID string) string {
	tok := l.token(customerID)
	if tok == "" {
		return ""
	}
	return l.base + SurveyPath + "?t=" + url.QueryEscape(tok) + "&r=" + url.QueryEscape(reminderID)
}

func (l *Links) token(customerID string) string {
	if l.base == "" || l.tokens == nil {
		return ""
	}
	return l.tokens.Token(customerID)
}

// ConsentConfirm implements app.ConsentLinks: a fresh token for what the reminder's form
// asked, in a link to the confirmation page. Without a base URL no token is issued and
// there is no link.
func (l *Links) ConsentConfirm(ctx context.Context, r followup.Reminder) (string, error) {
	if l.base == "" || l.consent == nil {
		return "", nil
	}
	tok, err := l.consent.Issue(ctx, r)
	if err != nil {
		return "", err
	}
	return l.base + ConsentPath + "?t=" + url.QueryEscape(tok), nil
}
