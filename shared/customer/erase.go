package customer

import "time"

// Erase removes everything that identifies or describes the person — name, contacts,
// birthday, free text, tags (a treatment tag is health data), consent records with their
// IPs, referral links — and keeps what reports count: store, tier, stage, lead grade,
// dates, and each touch's campaign. The caller must also drop the sealed sensitive
// section, release the profile's DedupeKeys (taken before erasing) and cancel pending
// messages. Erasing twice changes nothing.
func (p Profile) Erase(at time.Time) Profile {
	if p.Erased() {
		return p
	}
	out := Profile{
		ID: p.ID, Store: p.Store, Tier: p.Tier, Stage: p.Stage, LeadGrade: p.LeadGrade,
		CreatedAt: p.CreatedAt, UpdatedAt: at, ErasedAt: &at,
	}
	for _, t := range p.Touches {
		// Search terms and ad content can carry what a person typed; the campaign cannot.
		utm := UTM{Source: t.UTM.Source, Medium: t.UTM.Medium, Campaign: t.UTM.Campaign}
		out.Touches = append(out.Touches, Touch{At: t.At, Channel: t.Channel, UTM: utm, Grade: t.Grade})
	}
	return out
}
