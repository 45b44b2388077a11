package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

var errUnauthorized = errors.New("unauthorized")

// authorize does what the HTTP API JWT authorizer does: take the token from the identity
// source, check signature, iss, aud (client_id only when the token has no aud: Cognito
// access tokens), exp, nbf and iat, and the route's scopes (the scope or scp claim must
// hold at least one of the route's AuthorizationScopes; 403 otherwise). The claims come
// back as strings, as the authorizer hands them to the integration.
//
// One difference remains: API Gateway accepts RSA signatures only, the local issuer signs
// with ES256 (infra/local/devjwt); the claims checked are the same.
func authorize(r *http.Request, a samtemplate.JWTAuthorizer, scopes []string, keyfunc jwt.Keyfunc) (map[string]string, []string, error) {
	header := "Authorization"
	if h, ok := strings.CutPrefix(a.IdentitySource, "$request.header."); ok {
		header = h
	}
	raw := strings.TrimSpace(r.Header.Get(header))
	if len(raw) > 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	}
	if raw == "" {
		return nil, nil, fmt.Errorf("%w: no token in %s", errUnauthorized, header)
	}
	if keyfunc == nil {
		return nil, nil, fmt.Errorf("%w: no key to verify tokens with", errUnauthorized)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, keyfunc,
		jwt.WithIssuer(a.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithValidMethods([]string{"ES256", "RS256", "ES384", "RS384", "ES512", "RS512"}))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUnauthorized, err)
	}
	if !audienceMatches(claims, a.Audience) {
		return nil, nil, fmt.Errorf("%w: token is not for audience %v", errUnauthorized, a.Audience)
	}
	granted := grantedScopes(claims)
	if len(scopes) > 0 && !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(granted, s) }) {
		return nil, nil, errForbidden
	}
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		out[k] = claimString(v)
	}
	var sc []string
	if len(scopes) > 0 {
		sc = granted
	}
	return out, sc, nil
}

var errForbidden = errors.New("forbidden")

// audienceMatches: API Gateway accepts the token when its aud contains one of the
// configured audiences; it reads client_id only when the token has no aud at all (Cognito
// access tokens carry client_id, ID tokens aud). A token whose aud is wrong is refused
// even if its client_id would match.
func audienceMatches(c jwt.MapClaims, want []string) bool {
	if _, has := c["aud"]; has {
		aud, err := c.GetAudience()
		return err == nil && slices.ContainsFunc(aud, func(a string) bool { return slices.Contains(want, a) })
	}
	cid, ok := c["client_id"].(string)
	return ok && slices.Contains(want, cid)
}

// grantedScopes reads the scope claim (space-separated, as Cognito writes it) or, for
// identity providers that use it, scp (a list or a string).
func grantedScopes(c jwt.MapClaims) []string {
	if v, ok := c["scope"]; ok {
		return strings.Fields(claimString(v))
	}
	switch v := c["scp"].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, claimString(e))
		}
		return out
	}
	return nil
}

// claimString renders a claim the way the authorizer does: strings as they are, numbers
// without exponent, lists as "[a b]", objects as JSON.
func claimString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
