package main

import (
	"strconv"

	"github.com/tierflow/tierflow/shared/httpx"
)

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
