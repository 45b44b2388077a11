package devjwt_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/infra/local/devjwt"
)

func TestMintedTokenVerifiesAndKeyIsReused(t *testing.T) {
	dir := t.TempDir()
	iss, err := devjwt.Open(dir, devjwt.IssuerURL(3000), "tierflow-staff")
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, devjwt.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, st.Mode())
	}
	tok, err := iss.Mint("clinician", []string{"s1", "s2"}, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A second Open (another process: `tierflow-local token`) must reuse the key.
	again, err := devjwt.Open(dir, devjwt.IssuerURL(3000), "tierflow-staff")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(tok, claims, again.Keyfunc,
		jwt.WithIssuer("http://127.0.0.1:3000/_local/issuer"), jwt.WithAudience("tierflow-staff"),
		jwt.WithExpirationRequired(), jwt.WithValidMethods([]string{"ES256"}))
	if err != nil {
		t.Fatal(err)
	}
	if claims[devjwt.ClaimRole] != "clinician" || claims[devjwt.ClaimStores] != "s1,s2" || claims["sub"] != "local-clinician" {
		t.Fatalf("claims = %v", claims)
	}
	var set struct{ Keys []map[string]string }
	if err := json.Unmarshal(iss.JWKS(), &set); err != nil || len(set.Keys) != 1 || set.Keys[0]["crv"] != "P-256" {
		t.Fatalf("jwks = %s (%v)", iss.JWKS(), err)
	}
}
