package main

import (
	"strconv"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/httpx"
)

// storeParam is the store a list or report is about: the one asked for, else the
// caller's only store (or the business's only store for a caller who sees all). A store
// the caller may not see is "not found", never "forbidden", so existence does not leak.
func storeParam(p auth.Principal, requested string, known []string) (string, error) {
	st := requested
	if st == "" {
		mine, all := p.StoreFilter()
		switch {
		case len(mine) == 1:
			st = mine[0]
		case all && len(known) == 1:
			st = known[0]
		default:
			return "", httpx.BadRequest("store", "name the store")
		}
	}
	if !p.CanSeeStore(st) {
		return "", httpx.NotFound("Store")
	}
	return st, nil
}

// limitParam reads a page size of 1–100, 50 when absent.
func limitParam(q map[string]string) (int, error) {
	s := q["limit"]
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, httpx.BadRequest("limit", "must be a number from 1 to 100")
	}
	return n, nil
}
