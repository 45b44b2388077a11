package tiering

// Base summarises the customer base for quantile scoring: pass 1 of the nightly run
// builds one per scan segment from each customer's Metrics, merges them, and freezes the
// result for pass 2. Leads (no history) are not part of the base.
type Base struct {
	R *Sketch `json:"r"`
	F *Sketch `json:"f"`
	M *Sketch `json:"m"`
}

// NewBase returns an empty summary; capacity as for NewSketch.
func NewBase(capacity int) *Base {
	return &Base{R: NewSketch(capacity), F: NewSketch(capacity), M: NewSketch(capacity)}
}

// init makes a zero Base, or one read from JSON with a dimension missing, usable.
func (b *Base) init() {
	for _, s := range []**Sketch{&b.R, &b.F, &b.M} {
		if *s == nil {
			*s = NewSketch(0)
		}
	}
}

// Add counts one customer.
func (b *Base) Add(m Metrics) {
	if !m.HasHistory {
		return
	}
	b.init()
	b.R.Add(int64(m.RecencyDays))
	b.F.Add(int64(m.Frequency))
	b.M.Add(int64(m.Monetary))
}

// Merge adds another segment's summary.
func (b *Base) Merge(o *Base) {
	b.init()
	if o == nil {
		return
	}
	b.R.Merge(o.R)
	b.F.Merge(o.F)
	b.M.Merge(o.M)
}

// Cuts is a frozen Base, read by every assessment of one run.
type Cuts struct {
	R, F, M *Ranks
}

// Freeze prepares the summary for lookups.
func (b *Base) Freeze() *Cuts {
	b.init()
	return &Cuts{R: b.R.Freeze(), F: b.F.Freeze(), M: b.M.Freeze()}
}
