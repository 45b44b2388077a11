package logx

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"unicode"
)

// Redactor replaces personal data by keyed hashes. Keys decide first (a field called
// "phone" is redacted whatever it holds); patterns catch what slips through in free text
// (a phone number inside an error message). Names cannot be recognised by pattern, so
// they rely on the key rule.
type Redactor struct{ key []byte }

// NewRedactor returns a redactor whose hashes are keyed with key.
func NewRedactor(key []byte) *Redactor { return &Redactor{key: key} }

// Keys whose values are always personal. Compared after lower-casing and dropping
// everything but letters and digits, so "customer_phone", "phoneE164" and "E-Mail" match.
var (
	sensitiveExact = map[string]bool{
		"name": true, "fullname": true, "firstname": true, "lastname": true, "givenname": true,
		"familyname": true, "customername": true, "displayname": true, "nickname": true,
		"username": true, "tel": true, "telephone": true, "ip": true, "sourceip": true,
		"body": true, "message": true, "comment": true, "comments": true, "note": true, "notes": true,
		"birthday": true, "birthdate": true, "dob": true, "address": true, "referrer": true,
	}
	sensitiveContains = []string{
		"phone", "mobile", "email", "mail", "medical", "allerg", "psycholog", "assessment",
		"diagnos", "sensitive", "password", "secret", "token", "authorization", "cookie",
		"idcard", "passport", "wechat",
	}
)

func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SensitiveKey reports whether values logged under key are always redacted.
func SensitiveKey(key string) bool {
	k := normKey(key)
	if sensitiveExact[k] {
		return true
	}
	for _, s := range sensitiveContains {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

var (
	emailRe = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	// International numbers with a plus, allowing the spaces and dashes people type.
	e164Re = regexp.MustCompile(`\+\d[\d \-().]{6,20}\d`)
	// Chinese mobile numbers, 11 digits from 13x–19x, written whole or as 3-4-4.
	cnMobileRe = regexp.MustCompile(`1[3-9]\d[ \-]?\d{4}[ \-]?\d{4}`)
)

// Hash is the stand-in for a redacted value: a kind and 8 hex digits of HMAC-SHA256.
func (r *Redactor) Hash(kind, v string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(v))
	return kind + "#" + hex.EncodeToString(m.Sum(nil)[:4])
}

func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		if c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Text redacts e-mail addresses and phone numbers found anywhere in s.
func (r *Redactor) Text(s string) string {
	if s == "" {
		return s
	}
	s = emailRe.ReplaceAllStringFunc(s, func(m string) string { return r.Hash("email", strings.ToLower(m)) })
	s = e164Re.ReplaceAllStringFunc(s, func(m string) string {
		if d := digits(m); len(d) >= 8 && len(d) <= 15 {
			return r.Hash("phone", d)
		}
		return m
	})
	// Boundaries by hand: a mobile number must not be a slice of a longer digit run
	// (an order number), which RE2 cannot express without look-around.
	var b strings.Builder
	last := 0
	for _, loc := range cnMobileRe.FindAllStringIndex(s, -1) {
		if loc[0] > 0 && isDigit(s[loc[0]-1]) || loc[1] < len(s) && isDigit(s[loc[1]]) {
			continue
		}
		b.WriteString(s[last:loc[0]])
		b.WriteString(r.Hash("phone", "86"+digits(s[loc[0]:loc[1]])))
		last = loc[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// Attr redacts one attribute, descending into groups and structured values.
func (r *Redactor) Attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if SensitiveKey(a.Key) {
		// A whole group under a sensitive key (e.g. "sensitive") goes, members and all.
		return slog.String(a.Key, r.Hash("redacted", v.String()))
	}
	if v.Kind() == slog.KindGroup {
		attrs := v.Group()
		out := make([]slog.Attr, len(attrs))
		for i, g := range attrs {
			out[i] = r.Attr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.Text(v.String()))
	case slog.KindAny:
		return slog.Any(a.Key, r.any(v.Any()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// any redacts arbitrary values by their JSON form, which is what the encoder would have
// written: struct fields are judged by their JSON names.
func (r *Redactor) any(x any) any {
	switch t := x.(type) {
	case nil:
		return nil
	case error:
		return r.Text(t.Error())
	case fmt.Stringer:
		return r.Text(t.String())
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return r.Text(fmt.Sprint(x))
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return r.Text(string(raw))
	}
	return r.tree(tree)
}

func (r *Redactor) tree(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			if SensitiveKey(k) {
				t[k] = r.Hash("redacted", fmt.Sprint(v))
				continue
			}
			t[k] = r.tree(v)
		}
		return t
	case []any:
		for i := range t {
			t[i] = r.tree(t[i])
		}
		return t
	case string:
		return r.Text(t)
	}
	return x
}
