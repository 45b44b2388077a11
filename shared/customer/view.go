package customer

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tierflow/tierflow/shared/model"
)

// MaskPhone keeps enough of a number to tell two customers apart on a call list
// ("138****8000") and not enough to call them from it.
func MaskPhone(e164 string) string {
	if e164 == "" {
		return ""
	}
	cc, nsn, err := phones.Split(e164)
	if err != nil {
		return maskTail(e164)
	}
	masked := maskTail(nsn)
	if len(nsn) >= 8 {
		masked = nsn[:3] + "****" + nsn[len(nsn)-4:]
	}
	if cc == 86 {
		return masked
	}
	return "+" + strconv.Itoa(cc) + " " + masked
}

func maskTail(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return "****" + s[len(s)-4:]
}

// MaskEmail keeps the first character and the domain: "j***@example.com".
func MaskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "***"
	}
	r, _ := utf8.DecodeRuneInString(local)
	return string(r) + "***@" + domain
}

// Summary is a profile as a row of a staff list.
type Summary struct {
	ID        string          `json:"id"`
	Name      string          `json:"name,omitempty"`
	Phone     string          `json:"phone,omitempty"`
	Email     string          `json:"email,omitempty"`
	Store     string          `json:"store,omitempty"`
	Tier      model.Tier      `json:"tier,omitempty"`
	Stage     model.Stage     `json:"stage,omitempty"`
	LeadGrade model.LeadGrade `json:"leadGrade,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// Summary returns the list row role may see: agents work through lists all day and get
// masked contacts; they see the full number only on the detail view they open (and
// which is audited).
func (p Profile) Summary(role model.Role) Summary {
	s := Summary{
		ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, Store: p.Store, Tier: p.Tier,
		Stage: p.Stage, LeadGrade: p.LeadGrade, Tags: p.Tags, UpdatedAt: p.UpdatedAt,
	}
	if role != model.RoleAdmin && role != model.RoleClinician {
		s.Phone, s.Email = MaskPhone(p.Phone), MaskEmail(p.Email)
		if p.Email == "" {
			s.Email = ""
		}
	}
	return s
}
