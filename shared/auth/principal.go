package auth

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tierflow/tierflow/shared/httpx"
	"github.com/tierflow/tierflow/shared/model"
)

// AllStores is the stores claim value that grants every store.
const AllStores = "*"

// The claims a staff member's role and stores are read from. Only the identity provider
// sets them (in Cognito, the pre-token-generation trigger; see docs/security.md): they are
// not user attributes a person could write to their own profile.
const (
	ClaimRole   = "tierflow_role"   // admin | clinician | agent
	ClaimStores = "tierflow_stores" // space- or comma-separated store ids, or "*"
)

// DefaultMaxAgentStores is how many stores an agent's token may name when
// MAX_AGENT_STORES does not say otherwise.
const DefaultMaxAgentStores = 3

var maxAgentStores atomic.Int64

func init() { maxAgentStores.Store(DefaultMaxAgentStores) }

// SetMaxAgentStores sets the most stores an agent's token may name (MAX_AGENT_STORES,
// read once at cold start by shared/boot). A front-line agent works in a store or two; a
// token that names many, or all of them, is a misconfigured identity provider or a
// forged group membership, and is refused rather than honoured.
func SetMaxAgentStores(n int) error {
	if n < 1 {
		return fmt.Errorf("MAX_AGENT_STORES=%d: want at least 1", n)
	}
	maxAgentStores.Store(int64(n))
	return nil
}

// MaxAgentStores is the cap in force.
func MaxAgentStores() int { return int(maxAgentStores.Load()) }

// Principal is the authenticated caller: a staff member, or a machine's API key.
type Principal struct {
	Sub    string // the staff member's subject, or "key:<id>" for a key
	Role   model.Role
	Stores []string // store ids, or [AllStores]
	// Key is set for a machine calling with an API key (shared/apikey): what it may do is
	// its permissions, not a role; Role is then agent, which only decides masking.
	Key *KeyGrant
}

// KeyGrant is what the API-key authorizer established about a key.
type KeyGrant struct {
	ID            string
	Permissions   []string
	RatePerMinute int
}

// IsKey reports whether the caller is a machine with an API key.
func (p Principal) IsKey() bool { return p.Key != nil }

// Can reports whether a key caller carries permission perm (never true for staff).
func (p Principal) Can(perm string) bool {
	return p.Key != nil && slices.Contains(p.Key.Permissions, perm)
}

// AuditRole is what the audit log records as the caller's role: "key" for a machine.
func (p Principal) AuditRole() string {
	if p.IsKey() {
		return "key"
	}
	return string(p.Role)
}

// FromRequest reads the principal from the JWT authorizer context. No claims or no
// subject is 401 (not authenticated); a missing or unknown role is 403 (authenticated,
// but nobody gave this person a staff level).
func FromRequest(req events.APIGatewayV2HTTPRequest) (Principal, error) {
	a := req.RequestContext.Authorizer
	if a != nil && a.Lambda != nil {
		return FromKeyContext(a.Lambda)
	}
	if a == nil || a.JWT == nil || len(a.JWT.Claims) == 0 {
		return Principal{}, httpx.Unauthorized("A valid staff token is required.")
	}
	return FromClaims(a.JWT.Claims)
}

// FromClaims builds a principal from flattened JWT claims (ClaimRole, ClaimStores).
// Only access tokens are staff tokens: the route's AuthorizationScopes already keep ID
// tokens out in API Gateway, and a token that says it is anything else (Cognito's
// token_use) is refused here too, should a route ever lose its scopes. An agent whose
// token names every store, or more than MaxAgentStores, is refused (403).
func FromClaims(c map[string]string) (Principal, error) {
	sub := strings.TrimSpace(c["sub"])
	if sub == "" {
		return Principal{}, httpx.Unauthorized("The token names no subject.")
	}
	if use, ok := c["token_use"]; ok && use != "access" {
		return Principal{}, httpx.Unauthorized("Staff routes take an access token, not an ID token.")
	}
	role := model.Role(strings.ToLower(strings.TrimSpace(c[ClaimRole])))
	if !role.Valid() {
		return Principal{}, httpx.Forbidden("The token carries no staff role.")
	}
	p := Principal{Sub: sub, Role: role, Stores: parseStores(c[ClaimStores])}
	if role == model.RoleAgent {
		if max := MaxAgentStores(); p.SeesAllStores() || len(p.Stores) > max {
			return Principal{}, httpx.Forbidden("An agent's token may name at most " + strconv.Itoa(max) + " stores, and never all of them.")
		}
	}
	return p, nil
}

// parseStores reads "sh-01 sh-02"; API Gateway renders a JSON array claim as "[a b]" or
// "[a,b]", which is read the same way.
func parseStores(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "["), "]")
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '"' })
	if slices.Contains(f, AllStores) {
		return []string{AllStores}
	}
	out := f[:0]
	for _, id := range f {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// SeesAllStores reports whether the principal sees every store.
func (p Principal) SeesAllStores() bool { return slices.Contains(p.Stores, AllStores) }

// CanSeeStore reports whether customers of store are visible. A customer without a store
// (a lead that named none) is visible only to those who see every store, since nobody
// was given responsibility for it.
func (p Principal) CanSeeStore(store string) bool {
	if p.SeesAllStores() {
		return true
	}
	return store != "" && slices.Contains(p.Stores, store)
}

// CheckCustomerStore turns "customer of another store" into the very same 404 as "no such
// customer", so that probing ids reveals nothing about other stores.
func (p Principal) CheckCustomerStore(store string) error {
	if !p.CanSeeStore(store) {
		return httpx.NotFound("Customer")
	}
	return nil
}

// Require answers 403 unless the principal has one of roles.
func (p Principal) Require(roles ...model.Role) error {
	if slices.Contains(roles, p.Role) {
		return nil
	}
	return httpx.Forbidden("This action needs one of the roles: " + joinRoles(roles) + ".")
}

// StoreFilter is what a list query must restrict itself to: nil with all=true means no
// restriction; otherwise only these stores (possibly none).
func (p Principal) StoreFilter() (stores []string, all bool) {
	if p.SeesAllStores() {
		return nil, true
	}
	return slices.Clone(p.Stores), false
}

func joinRoles(rs []model.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
