package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"
)

// Permission is one thing a key may do.
type Permission string

// The permissions a key can carry.
const (
	TransactionsWrite Permission = "transactions:write" // POST transactions (a POS, a billing system)
	LeadsWrite        Permission = "leads:write"        // POST leads and import customers (a website backend, make import)
	CustomersRead     Permission = "customers:read"     // read customers, masked like a front-line agent
	EventsWrite       Permission = "events:write"       // record a customer's events (a visit, a call)
)

// Permissions lists every permission, in documentation order.
func Permissions() []Permission {
	return []Permission{TransactionsWrite, LeadsWrite, CustomersRead, EventsWrite}
}

// Valid reports whether p is a known permission.
func (p Permission) Valid() bool { return slices.Contains(Permissions(), p) }

// Prefix starts every secret, so that a secret pasted into a log or a repository is
// recognisable (and scanners can be taught the pattern).
const Prefix = "tfk_"

// DefaultRatePerMinute is a key's request budget when its creator names none: a busy POS
// posting one sale per request stays well below it; a runaway loop is stopped.
const DefaultRatePerMinute = 600

// MaxRatePerMinute bounds what an admin may grant one key.
const MaxRatePerMinute = 6000

// Key is a stored key, without its secret.
type Key struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Stores        []string     `json:"stores"`
	Permissions   []Permission `json:"permissions"`
	RatePerMinute int          `json:"ratePerMinute"`
	CreatedBy     string       `json:"createdBy"`
	CreatedAt     time.Time    `json:"createdAt"`
	ExpiresAt     *time.Time   `json:"expiresAt,omitempty"`
	RotatedAt     *time.Time   `json:"rotatedAt,omitempty"`
	LastUsedAt    *time.Time   `json:"lastUsedAt,omitempty"`
	// Hint is the first characters of the secret, enough to tell keys apart in a list.
	Hint string `json:"hint"`
}

// Expired reports whether the key no longer works at now.
func (k Key) Expired(now time.Time) bool { return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) }

// Has reports whether the key carries p.
func (k Key) Has(p Permission) bool { return slices.Contains(k.Permissions, p) }

// Secret is a new secret: shown once, stored as Hash.
type Secret struct {
	Plain string // what the machine sends in X-Api-Key
	Hash  string // hex SHA-256 of Plain: what is stored and looked up
	Hint  string
}

// NewSecret makes the secret of key id.
func NewSecret(id string) (Secret, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Secret{}, err
	}
	plain := Prefix + id + "_" + base64.RawURLEncoding.EncodeToString(b[:])
	return Secret{Plain: plain, Hash: Hash(plain), Hint: plain[:len(Prefix)+len(id)+5]}, nil
}

// Hash is the stored form of a secret.
func Hash(plain string) string {
	h := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(h[:])
}

// ErrMalformed: the header does not hold a secret of ours; nothing is looked up.
var ErrMalformed = errors.New("apikey: not a tierflow key")

// Check reads what a machine sent: a secret of the right shape (so that junk is refused
// without a read), returning its hash and the key id it names.
func Check(header string) (hash, id string, err error) {
	s := strings.TrimSpace(header)
	rest, ok := strings.CutPrefix(s, Prefix)
	if !ok || len(s) > 128 {
		return "", "", ErrMalformed
	}
	id, body, ok := strings.Cut(rest, "_")
	if !ok || id == "" || len(body) != 43 {
		return "", "", ErrMalformed
	}
	if _, err := base64.RawURLEncoding.DecodeString(body); err != nil {
		return "", "", ErrMalformed
	}
	return Hash(s), id, nil
}
