// Package devjwt is the local stand-in for the staff identity provider (Cognito in AWS):
// an ES256 key pair kept in .local/jwt, tokens minted for a role and its stores, and the
// issuer's discovery document and JWKS so the gateway verifies tokens exactly as the
// HTTP API JWT authorizer verifies Cognito's.
package devjwt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/shared/auth"
)

// Claim names the staff API reads (all strings, as the authorizer hands them over).
const (
	ClaimRole   = auth.ClaimRole
	ClaimStores = auth.ClaimStores
)

// KeyFile is the private key's name inside the key folder.
const KeyFile = "signing-key.pem"

// Issuer signs and describes local staff tokens.
type Issuer struct {
	URL      string // the iss claim, e.g. http://127.0.0.1:3000/_local/issuer
	Audience string // the aud claim: the template's JwtAudience
	key      *ecdsa.PrivateKey
	kid      string
	now      func() time.Time
}

// IssuerURL is the issuer a stack on this loopback port uses.
func IssuerURL(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/_local/issuer", port) }

// Open loads the key from dir, creating it (0600, in a 0700 folder) on first use so that
// tokens stay valid across restarts of the stack.
func Open(dir, issuerURL, audience string) (*Issuer, error) {
	key, err := loadOrCreate(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &Issuer{URL: issuerURL, Audience: audience, key: key,
		kid: base64.RawURLEncoding.EncodeToString(sum[:12]), now: time.Now}, nil
}

func loadOrCreate(path string) (*ecdsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("read dev signing key %s: not PEM; delete it to make a new one", path)
		}
		k, err := x509.ParseECPrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read dev signing key %s: %w", path, err)
		}
		return k, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read dev signing key: %w", err)
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	// O_EXCL: when two processes race to create the key, one wins and the other reads it.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreate(path)
	}
	if err != nil {
		return nil, fmt.Errorf("write dev signing key: %w", err)
	}
	defer f.Close()
	if err := pem.Encode(f, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		return nil, fmt.Errorf("write dev signing key: %w", err)
	}
	return k, f.Sync()
}

// Mint returns a signed access token for a staff member. sub defaults to "local-<role>".
func (i *Issuer) Mint(role string, stores []string, sub string, ttl time.Duration) (string, error) {
	if sub == "" {
		sub = "local-" + role
	}
	now := i.now()
	claims := jwt.MapClaims{
		"iss":       i.URL,
		"aud":       i.Audience,
		"sub":       sub,
		"iat":       now.Unix(),
		"nbf":       now.Unix(),
		"exp":       now.Add(ttl).Unix(),
		"token_use": "access",
		"scope":     "tierflow/staff",
		ClaimRole:   role,
		ClaimStores: strings.Join(stores, ","),
	}
	return i.Sign(claims)
}

// Sign signs arbitrary claims with the dev key (tests use it for expired or
// wrong-audience tokens).
func (i *Issuer) Sign(claims jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// Keyfunc resolves a token's verification key: only the dev key, by kid.
func (i *Issuer) Keyfunc(t *jwt.Token) (any, error) {
	if kid, _ := t.Header["kid"].(string); kid != i.kid {
		return nil, fmt.Errorf("unknown signing key %q", kid)
	}
	return &i.key.PublicKey, nil
}

// JWKS is the public key set, as Cognito publishes at /.well-known/jwks.json.
func (i *Issuer) JWKS() []byte {
	pad := func(b []byte) string {
		out := make([]byte, 32)
		copy(out[32-len(b):], b)
		return base64.RawURLEncoding.EncodeToString(out)
	}
	pub := i.key.PublicKey
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": i.kid,
		"x": pad(pub.X.Bytes()), "y": pad(pub.Y.Bytes()),
	}}})
	return b
}

// Handler serves the issuer's discovery document and JWKS under the issuer URL's path.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                i.URL,
			"jwks_uri":                              i.URL + "/.well-known/jwks.json",
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"subject_types_supported":               []string{"public"},
			"response_types_supported":              []string{"token"},
		})
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(i.JWKS())
	})
	return mux
}
