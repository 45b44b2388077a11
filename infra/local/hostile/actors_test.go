package hostile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tierflow/tierflow/shared/auth"
)

// Actors of the rows. Staff actors carry tokens the stack's issuer signs; the
// broken-authentication actors carry tokens an attacker could make, all claiming the
// strongest identity there is (admin of every store) so that any bypass shows.
const (
	anonymous = "anonymous"

	forged        = "forged signature (admin *)"
	expired       = "expired token (admin *)"
	algNone       = "alg:none token (admin *)"
	wrongAudience = "wrong-audience token (admin *)"
	wrongIssuer   = "wrong-issuer token (admin *)"
	hsConfusion   = "HS256 signed with the public key (admin *)"
	noScope       = "token without the tierflow/staff scope (admin *)"

	agentSH     = "agent of sh-01"
	clinicianSH = "clinician of sh-01"
	adminSH     = "admin of sh-01"
	adminAll    = "admin *"
	adminBJ     = "admin of bj-01"
	clinicianBJ = "clinician of bj-01"
	agentAll    = "agent with stores *"
	agentFour   = "agent with 4 stores"
	customClaim = "custom:role admin / custom:stores * (no tierflow_ claims)"
	bareClaims  = "bare role admin / stores * claims (no tierflow_ claims)"
)

// brokenAuth are the actors every staff route is probed with (OWASP API2).
var brokenAuth = []string{anonymous, forged, expired, algNone, wrongAudience, wrongIssuer, hsConfusion, noScope}

// staff describes the staff actors: role, stores, and the subject their tokens name.
var staff = map[string]struct {
	role   string
	stores []string
}{
	agentSH:     {"agent", []string{"sh-01"}},
	clinicianSH: {"clinician", []string{"sh-01"}},
	adminSH:     {"admin", []string{"sh-01"}},
	adminAll:    {"admin", []string{"*"}},
	adminBJ:     {"admin", []string{"bj-01"}},
	clinicianBJ: {"clinician", []string{"bj-01"}},
	agentAll:    {"agent", []string{"*"}},
	agentFour:   {"agent", []string{"sh-01", "sh-02", "sh-03", "bj-01"}},
}

// subOf is the subject an actor's token names ("" for anonymous).
func subOf(actor string) string {
	if s, ok := staff[actor]; ok {
		return "hostile-" + s.role + "-" + strings.Join(s.stores, "-")
	}
	if actor == anonymous {
		return ""
	}
	return "hostile-attacker"
}

// storesOf are the stores an actor covers (nil for anyone not staff of a store).
func storesOf(actor string) []string { return staff[actor].stores }

// tokens mints every actor's token once.
func tokens(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{anonymous: ""}
	for name, s := range staff {
		tok, err := st.MintToken(s.role, s.stores, subOf(name), 2*time.Hour)
		if err != nil {
			t.Fatalf("mint %s: %v", name, err)
		}
		out[name] = tok
	}
	now := time.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": st.Issuer.URL, "aud": st.Issuer.Audience, "sub": subOf(forged),
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"token_use": "access", "scope": "tierflow/staff",
			auth.ClaimRole: "admin", auth.ClaimStores: "*",
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(c jwt.MapClaims) string {
		tok, err := st.Issuer.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	kid := kidOf(t, out[adminAll])

	out[expired] = sign(claims(func(c jwt.MapClaims) {
		c["iat"], c["nbf"], c["exp"] = now.Add(-3*time.Hour).Unix(), now.Add(-3*time.Hour).Unix(), now.Add(-time.Hour).Unix()
	}))
	out[wrongAudience] = sign(claims(func(c jwt.MapClaims) { c["aud"] = "another-app" }))
	out[wrongIssuer] = sign(claims(func(c jwt.MapClaims) { c["iss"] = "https://issuer.evil.example" }))
	// An ID token: same issuer and audience, but no access scope.
	out[noScope] = sign(claims(func(c jwt.MapClaims) { delete(c, "scope"); c["token_use"] = "id" }))
	out[customClaim] = sign(claims(func(c jwt.MapClaims) {
		delete(c, auth.ClaimRole)
		delete(c, auth.ClaimStores)
		c["custom:role"], c["custom:stores"] = "admin", "*"
	}))
	out[bareClaims] = sign(claims(func(c jwt.MapClaims) {
		delete(c, auth.ClaimRole)
		delete(c, auth.ClaimStores)
		c["role"], c["stores"] = "admin", "*"
	}))

	// Signed with a key the attacker made, under the real key's id.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ft := jwt.NewWithClaims(jwt.SigningMethodES256, claims(nil))
	ft.Header["kid"] = kid
	if out[forged], err = ft.SignedString(other); err != nil {
		t.Fatal(err)
	}
	// alg:none, no signature.
	seg := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	out[algNone] = seg(map[string]string{"alg": "none", "typ": "JWT", "kid": kid}) + "." + seg(claims(nil)) + "."
	// The public key set used as an HMAC secret (algorithm confusion).
	ht := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(nil))
	ht.Header["kid"] = kid
	if out[hsConfusion], err = ht.SignedString(st.Issuer.JWKS()); err != nil {
		t.Fatal(err)
	}
	return out
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Kid == "" {
		t.Fatal(fmt.Errorf("no kid in a minted token's header %s: %v", b, err))
	}
	return h.Kid
}
