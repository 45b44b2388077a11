package apikey

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tierflow/tierflow/shared/httpx"
)

// CreateRequest is the body of POST /v1/api-keys.
type CreateRequest struct {
	Name          string       `json:"name"`
	Stores        []string     `json:"stores"`
	Permissions   []Permission `json:"permissions"`
	ExpiresAt     *time.Time   `json:"expiresAt"`
	RatePerMinute int          `json:"ratePerMinute"`
}

// Validate checks a request against the creator's reach: covers reports whether the
// creator covers a store (a key never reaches further than the admin who made it). It
// returns the key to store (without id, secret or times) or the fields at fault.
func (r CreateRequest) Validate(validStore func(string) bool, covers func(string) bool, now time.Time) (Key, error) {
	var errs []httpx.FieldError
	bad := func(f, reason string) { errs = append(errs, httpx.FieldError{Field: f, Reason: reason}) }
	name := strings.TrimSpace(r.Name)
	if name == "" || utf8.RuneCountInString(name) > 80 {
		bad("/name", "is required, at most 80 characters")
	}
	if len(r.Stores) == 0 || len(r.Stores) > 50 {
		bad("/stores", "names 1 to 50 stores")
	}
	var stores []string
	for i, s := range r.Stores {
		f := "/stores/" + strconv.Itoa(i)
		switch {
		case !validStore(s):
			bad(f, "is not a store of this business")
		case !covers(s):
			bad(f, "is a store you do not cover")
		default:
			stores = appendOnce(stores, s)
		}
	}
	if len(r.Permissions) == 0 {
		bad("/permissions", "names at least one of transactions:write, leads:write, customers:read, events:write")
	}
	var perms []Permission
	for i, p := range r.Permissions {
		if !p.Valid() {
			bad("/permissions/"+strconv.Itoa(i), "is not one of transactions:write, leads:write, customers:read, events:write")
			continue
		}
		perms = appendOnce(perms, p)
	}
	if r.ExpiresAt != nil && !r.ExpiresAt.After(now) {
		bad("/expiresAt", "is in the past")
	}
	rate := r.RatePerMinute
	if rate == 0 {
		rate = DefaultRatePerMinute
	}
	if rate < 1 || rate > MaxRatePerMinute {
		bad("/ratePerMinute", "is between 1 and "+strconv.Itoa(MaxRatePerMinute))
	}
	if len(errs) > 0 {
		return Key{}, httpx.Invalid(errs...)
	}
	k := Key{Name: name, Stores: stores, Permissions: perms, RatePerMinute: rate}
	if r.ExpiresAt != nil {
		t := r.ExpiresAt.UTC()
		k.ExpiresAt = &t
	}
	return k, nil
}

func appendOnce[T comparable](s []T, v T) []T {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
