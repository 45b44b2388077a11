package auth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

// The context the API-key authorizer (functions/authorizer) returns and API Gateway
// hands the integration as requestContext.authorizer.lambda. Only the authorizer writes
// it: a client cannot set it, whatever headers it sends.
const (
	CtxKeyID       = "keyId"
	CtxStores      = "stores"      // space-separated store ids; never "*"
	CtxPermissions = "permissions" // space-separated
	CtxRate        = "ratePerMinute"
)

// KeyContext is the authorizer's context for a key: the one place it is written.
func KeyContext(id string, stores, perms []string, rate int) map[string]any {
	return map[string]any{CtxKeyID: id, CtxStores: strings.Join(stores, " "),
		CtxPermissions: strings.Join(perms, " "), CtxRate: rate}
}

// FromKeyContext builds the principal of a machine from the authorizer's context. A
// context without a key id, or naming every store, is refused: a key is always scoped to
// the stores its admin named.
func FromKeyContext(c map[string]any) (Principal, error) {
	id := ctxString(c[CtxKeyID])
	if id == "" {
		return Principal{}, httpx.Unauthorized("A valid API key is required.")
	}
	stores := parseStores(ctxString(c[CtxStores]))
	for _, s := range stores {
		if s == AllStores {
			return Principal{}, httpx.Forbidden("An API key is scoped to named stores.")
		}
	}
	rate, _ := strconv.Atoi(ctxString(c[CtxRate]))
	return Principal{Sub: "key:" + id, Role: model.RoleAgent, Stores: stores,
		Key: &KeyGrant{ID: id, Permissions: strings.Fields(ctxString(c[CtxPermissions])), RatePerMinute: rate}}, nil
}

// ctxString reads a context value: API Gateway passes strings, numbers and booleans;
// after a JSON round trip a number is a float64.
func ctxString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}
