package auth

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tierflow/tierflow/shared/httpx"
)

// Verifier checks staff tokens where no API Gateway authorizer does (the local runtime):
// HS256 signature, issuer, audience and expiry, as the authorizer would in AWS.
type Verifier struct {
	Secret   []byte
	Issuer   string
	Audience string
	Now      func() time.Time
}

// Claims verifies a bearer token (with or without the "Bearer " prefix) and returns its
// claims flattened the way API Gateway flattens them. Every failure is a 401.
func (v Verifier) Claims(token string) (map[string]string, error) {
	token = strings.TrimSpace(token)
	if t, ok := cutPrefixFold(token, "Bearer "); ok {
		token = strings.TrimSpace(t)
	}
	if token == "" {
		return nil, httpx.Unauthorized("A valid staff token is required.")
	}
	if len(v.Secret) == 0 {
		return nil, fmt.Errorf("verify token: %w", errors.New("verifier has no secret"))
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()}
	if v.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.Issuer))
	}
	if v.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.Audience))
	}
	if v.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(v.Now))
	}
	mc := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, mc, func(*jwt.Token) (any, error) { return v.Secret, nil }, opts...)
	if err != nil {
		detail := "The token is not valid."
		if errors.Is(err, jwt.ErrTokenExpired) {
			detail = "The token has expired."
		}
		return nil, httpx.Unauthorized(detail).Wrap(err)
	}
	out := make(map[string]string, len(mc))
	for k, val := range mc {
		switch x := val.(type) {
		case string:
			out[k] = x
		case []any:
			parts := make([]string, len(x))
			for i, p := range x {
				parts[i] = fmt.Sprint(p)
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		case float64:
			out[k] = fmt.Sprintf("%.0f", x)
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// Sign issues an HS256 staff token for p, valid for ttl from now; for the local runtime,
// the operator CLI and tests. Production tokens come from the identity provider.
func (v Verifier) Sign(p Principal, ttl time.Duration) (string, error) {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	claims := jwt.MapClaims{
		"sub":       p.Sub,
		ClaimRole:   string(p.Role),
		ClaimStores: strings.Join(p.Stores, " "),
		"iat":       t.Unix(),
		"exp":       t.Add(ttl).Unix(),
	}
	if v.Issuer != "" {
		claims["iss"] = v.Issuer
	}
	if v.Audience != "" {
		claims["aud"] = v.Audience
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(v.Secret)
	if err != nil {
		return "", fmt.Errorf("sign staff token: %w", err)
	}
	return s, nil
}
