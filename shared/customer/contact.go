package customer

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	_ "time/tzdata" // the Lambda runtime image has no zoneinfo; validation must not depend on it
	"unicode"
	"unicode/utf8"
)

// Reasons returned for contact fields; stable wording the form page can show.
var (
	errPhoneChars   = errors.New("may contain only digits, spaces, +, - and brackets")
	errPhoneInvalid = errors.New("is not a valid phone number")
	errEmailInvalid = errors.New("is not a valid e-mail address")
)

// NormalizePhone returns raw in E.164 ("+8613800138000"). Numbers written without a
// country code are read in defaultRegion (e.g. "CN"), so "138 0013 8000" and
// "+86 138-0013-8000" are the same person. Letters are refused outright: the library
// would read "1-800-FLOWERS" as digits, which is never what a lead form means.
func NormalizePhone(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	for _, r := range raw {
		if !(unicode.IsDigit(r) || strings.ContainsRune("+-() .\u00a0\u3000", r)) {
			return "", errPhoneChars
		}
	}
	// Full-width digits (１３８…) come from Chinese input methods; the library reads them.
	n, err := phones.E164(raw, strings.ToUpper(defaultRegion))
	if err != nil {
		return "", fmt.Errorf("%w: %w", errPhoneInvalid, err)
	}
	if n == "" {
		return "", errPhoneInvalid
	}
	return n, nil
}

// NormalizeEmail lower-cases and validates an address. Display names ("Li <a@b.c>") and
// addresses without a dotted domain are refused: they are not what a person types.
func NormalizeEmail(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Name != "" || a.Address != raw {
		return "", errEmailInvalid
	}
	addr := strings.ToLower(a.Address)
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || len(addr) > 254 || len(local) > 64 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", errEmailInvalid
	}
	return addr, nil
}

// ValidTimeZone accepts IANA names only; "Local" would mean the Lambda's zone (UTC).
func ValidTimeZone(name string) error {
	if name == "" {
		return nil
	}
	if name == "Local" || strings.ContainsAny(name, " \\") {
		return errors.New("is not an IANA time zone such as Asia/Shanghai")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return errors.New("is not an IANA time zone such as Asia/Shanghai")
	}
	return nil
}

// ParseBirthday accepts YYYY-MM-DD, not in the future and not before 1900.
func ParseBirthday(s string, today time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", errors.New("must be a date written YYYY-MM-DD")
	}
	if d.Year() < 1900 || d.After(today) {
		return "", errors.New("is not a plausible birthday")
	}
	return d.Format(time.DateOnly), nil
}

// cleanText trims, collapses runs of white space and refuses control characters, which
// have no business in a name and break CSV exports and SMS templates.
func cleanText(s string, max int) (string, error) {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("must be at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", errors.New("contains control characters")
		}
	}
	return s, nil
}

// cleanMultiline is cleanText for free text, where line breaks are meaningful.
func cleanMultiline(s string, max int) (string, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if utf8.RuneCountInString(s) > max {
		return "", fmt.Errorf("must be at most %d characters", max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", errors.New("contains control characters")
		}
	}
	return s, nil
}
