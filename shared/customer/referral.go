package customer

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReferralAlphabet leaves out 0/O, 1/I/L and U/V look-alikes, so a code read aloud or
// copied from a screenshot comes back right.
const ReferralAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"

// ReferralCodeLen gives 29^8 ≈ 5·10^11 codes: guessing a valid one is hopeless for any
// realistic customer base, and the code still fits on a coupon.
const ReferralCodeLen = 8

var errReferralCode = errors.New("is not a referral code")

// NewReferralCode draws a code from rnd (crypto/rand.Reader in production). Rejection
// sampling keeps every symbol equally likely. Uniqueness is the store's job: it writes the
// code conditionally and asks for another on a clash.
func NewReferralCode(rnd io.Reader) (string, error) {
	const n = len(ReferralAlphabet)
	limit := 256 - 256%n
	out := make([]byte, 0, ReferralCodeLen)
	buf := make([]byte, 16)
	for len(out) < ReferralCodeLen {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("draw referral code: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < ReferralCodeLen {
				out = append(out, ReferralAlphabet[int(b)%n])
			}
		}
	}
	return string(out), nil
}

// NormalizeReferralCode accepts what people type: lower case, spaces, dashes.
func NormalizeReferralCode(s string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-':
		case strings.ContainsRune(ReferralAlphabet, r):
			b.WriteRune(r)
		default:
			return "", errReferralCode
		}
	}
	if b.Len() != ReferralCodeLen {
		return "", errReferralCode
	}
	return b.String(), nil
}
