package customer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// GradePolicy grades leads by potential × urgency, as the seeds put it. It is a
// versioned document: every grade records the version that produced it, so a change of
// policy never silently rewrites history.
type GradePolicy struct {
	Version string `json:"version" yaml:"version"`

	// Potential: who the lead is and how much we know.
	SourcePoints       map[string]int `json:"sourcePoints" yaml:"sourcePoints"`     // by utm_source; "referral" when a code was used; "default" otherwise
	InterestPoints     map[string]int `json:"interestPoints" yaml:"interestPoints"` // by interest, lower case; "*" for any stated interest
	CompletenessPoints int            `json:"completenessPoints" yaml:"completenessPoints"`

	// Urgency: how soon they want to hear from us.
	UrgentWords   []string     `json:"urgentWords" yaml:"urgentWords"`
	UrgentPoints  int          `json:"urgentPoints" yaml:"urgentPoints"`
	InHoursPoints int          `json:"inHoursPoints" yaml:"inHoursPoints"`
	Opening       OpeningHours `json:"opening" yaml:"opening"`

	// Thresholds on potential × urgency.
	Hot  int `json:"hot" yaml:"hot"`
	Warm int `json:"warm" yaml:"warm"`

	// FirstContactMinutes is how long staff have for the first call, by grade; the
	// clock runs in opening hours only.
	FirstContactMinutes map[model.LeadGrade]int `json:"firstContactMinutes" yaml:"firstContactMinutes"`
}

// DefaultGradePolicy is a starting point matching the seeds: referrals and stated
// interest are promising, "尽快/马上/今天" is urgent, and a hot lead is called within 30
// minutes of opening hours.
func DefaultGradePolicy() GradePolicy {
	return GradePolicy{
		Version:            "lead-v1",
		SourcePoints:       map[string]int{"referral": 4, "google": 2, "baidu": 2, "wechat": 2, "xiaohongshu": 2, "douyin": 1, "default": 1},
		InterestPoints:     map[string]int{"*": 2},
		CompletenessPoints: 1,
		UrgentWords:        []string{"尽快", "马上", "今天", "立刻", "立即", "急", "明天", "asap", "urgent", "today", "tomorrow", "as soon as"},
		UrgentPoints:       1,
		InHoursPoints:      1,
		Opening:            OpeningHours{TimeZone: "Asia/Shanghai", Open: "09:00", Close: "21:00", Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}},
		Hot:                15,
		Warm:               6,
		FirstContactMinutes: map[model.LeadGrade]int{
			model.LeadHot: 30, model.LeadWarm: 24 * 60, model.LeadCold: 72 * 60,
		},
	}
}

// Validate reports what makes a policy unusable, so a bad document fails at load.
func (p GradePolicy) Validate() error {
	var errs []error
	if p.Version == "" {
		errs = append(errs, errors.New("version is empty"))
	}
	if p.Warm <= 0 || p.Hot <= p.Warm {
		errs = append(errs, fmt.Errorf("thresholds must satisfy 0 < warm (%d) < hot (%d)", p.Warm, p.Hot))
	}
	if err := p.Opening.validate(); err != nil {
		errs = append(errs, err)
	}
	for _, g := range []model.LeadGrade{model.LeadHot, model.LeadWarm, model.LeadCold} {
		if p.FirstContactMinutes[g] <= 0 {
			errs = append(errs, fmt.Errorf("firstContactMinutes[%s] must be positive", g))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("grade policy %q: %w", p.Version, err)
	}
	return nil
}

// Grading is a lead's grade with the reason a person can read.
type Grading struct {
	Grade     model.LeadGrade `json:"grade"`
	Score     int             `json:"score"`
	Potential int             `json:"potential"`
	Urgency   int             `json:"urgency"`
	Reason    string          `json:"reason"`
	Policy    string          `json:"policy"`
}

// Grade grades a lead received at l.Submission.At.
func (p GradePolicy) Grade(l Lead) Grading {
	var why []string
	potential, urgency := 1, 1

	source := "default"
	switch {
	case l.ReferralCode != "":
		source = "referral"
	case l.UTM.Source != "":
		if _, ok := p.SourcePoints[l.UTM.Source]; ok {
			source = l.UTM.Source
		}
	}
	if pts := p.SourcePoints[source]; pts != 0 {
		potential += pts
		why = append(why, fmt.Sprintf("source %s %+d", source, pts))
	}
	if l.Interest != "" {
		pts, ok := p.InterestPoints[strings.ToLower(l.Interest)]
		if !ok {
			pts = p.InterestPoints["*"]
		}
		if pts != 0 {
			potential += pts
			why = append(why, fmt.Sprintf("interest %s %+d", l.Interest, pts))
		}
	}
	known := 0
	for _, v := range []string{l.Name, l.Phone, l.Email} {
		if v != "" {
			known++
		}
	}
	// One contact is the minimum to be a lead at all; each detail beyond it counts.
	if extra := (known - 1) * p.CompletenessPoints; extra > 0 {
		potential += extra
		why = append(why, fmt.Sprintf("%d of name/phone/email %+d", known, extra))
	}

	msg := strings.ToLower(l.Message + " " + l.Interest)
	var urgent []string
	for _, w := range p.UrgentWords {
		if w != "" && strings.Contains(msg, strings.ToLower(w)) {
			urgent = append(urgent, w)
		}
	}
	if len(urgent) > 0 && p.UrgentPoints != 0 {
		urgency += p.UrgentPoints
		why = append(why, fmt.Sprintf("urgent words %s %+d", strings.Join(urgent, "/"), p.UrgentPoints))
	}
	if p.InHoursPoints != 0 && p.Opening.Contains(l.Submission.At) {
		urgency += p.InHoursPoints
		why = append(why, fmt.Sprintf("in opening hours %+d", p.InHoursPoints))
	}

	score := potential * urgency
	g := model.LeadCold
	switch {
	case score >= p.Hot:
		g = model.LeadHot
	case score >= p.Warm:
		g = model.LeadWarm
	}
	reason := fmt.Sprintf("%s: score %d = potential %d × urgency %d", g, score, potential, urgency)
	if len(why) > 0 {
		reason += " (" + strings.Join(why, ", ") + ")"
	}
	reason += ", policy " + p.Version
	return Grading{Grade: g, Score: score, Potential: potential, Urgency: urgency, Reason: reason, Policy: p.Version}
}

// FirstContactDue is the deadline of the first-contact task. The clock starts when the
// lead arrives if the business is open, otherwise at the next opening: a hot lead at
// 23:00 is due at 09:30, not at 23:30 when nobody is there.
func (p GradePolicy) FirstContactDue(g model.LeadGrade, at time.Time) time.Time {
	d := time.Duration(p.FirstContactMinutes[g]) * time.Minute
	return p.Opening.Next(at).Add(d)
}

func gradeRank(g model.LeadGrade) int {
	switch g {
	case model.LeadHot:
		return 3
	case model.LeadWarm:
		return 2
	case model.LeadCold:
		return 1
	}
	return 0
}

// OpeningHours are when staff answer, in the business's time zone. An empty value means
// always open.
type OpeningHours struct {
	TimeZone string         `json:"timeZone" yaml:"timeZone"`
	Open     string         `json:"open" yaml:"open"`   // "09:00"
	Close    string         `json:"close" yaml:"close"` // "21:00", after Open
	Days     []time.Weekday `json:"days" yaml:"days"`   // 0 = Sunday
}

func (o OpeningHours) always() bool { return o.Open == "" && o.Close == "" }

func (o OpeningHours) validate() error {
	if o.always() {
		return nil
	}
	if _, err := time.LoadLocation(o.TimeZone); err != nil || o.TimeZone == "" {
		return fmt.Errorf("opening hours: time zone %q is not IANA", o.TimeZone)
	}
	op, err1 := clock(o.Open)
	cl, err2 := clock(o.Close)
	if err1 != nil || err2 != nil || cl <= op {
		return fmt.Errorf("opening hours: %q–%q is not a range of HH:MM in one day", o.Open, o.Close)
	}
	if len(o.Days) == 0 {
		return errors.New("opening hours: no opening days")
	}
	return nil
}

// clock parses "HH:MM" into minutes after midnight.
func clock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return hh*60 + mm, nil
}

// parts returns the zone and the daily window; ok is false for always-open or an
// invalid policy, which are both treated as always open rather than never.
func (o OpeningHours) parts() (loc *time.Location, open, close int, ok bool) {
	if o.validate() != nil || o.always() {
		return nil, 0, 0, false
	}
	loc, _ = time.LoadLocation(o.TimeZone)
	open, _ = clock(o.Open)
	close, _ = clock(o.Close)
	return loc, open, close, true
}

// Contains reports whether t falls in opening hours.
func (o OpeningHours) Contains(t time.Time) bool {
	loc, open, close, ok := o.parts()
	if !ok {
		return true
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	return slices.Contains(o.Days, lt.Weekday()) && m >= open && m < close
}

// Next returns t if open, otherwise the next opening time.
func (o OpeningHours) Next(t time.Time) time.Time {
	loc, open, _, ok := o.parts()
	if !ok || o.Contains(t) {
		return t
	}
	lt := t.In(loc)
	for i := 0; i <= 7; i++ {
		// Built from the wall clock, not by adding minutes to midnight, so a DST change
		// in the business's zone does not shift opening by an hour.
		start := time.Date(lt.Year(), lt.Month(), lt.Day()+i, open/60, open%60, 0, 0, loc)
		if slices.Contains(o.Days, start.Weekday()) && start.After(lt) {
			return start
		}
	}
	return t
}
