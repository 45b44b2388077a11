package dataset

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// Segment is the behaviour a synthetic customer was generated with. Tests use it to check
// that the engine finds what was planted (heavy spenders end up in A, lapsed ones dormant).
type Segment string

const (
	SegmentHeavy   Segment = "heavy"   // few, frequent, expensive treatments
	SegmentRegular Segment = "regular" // the steady middle
	SegmentOneOff  Segment = "oneoff"  // came once
	SegmentLapsed  Segment = "lapsed"  // bought regularly, then stopped
	SegmentLead    Segment = "lead"    // enquired, never bought
)

// SynthConfig says what to generate. The same config always yields the same data, and
// customer i is the same whatever Customers is, so a small base is a prefix of a big one.
type SynthConfig struct {
	Seed      uint64
	Customers int
	From, To  time.Time
	Stores    []string // Chinese branches; empty means a default set of three plus London
}

// Customer is a synthetic profile with the fields the product collects. Phones are in
// E.164 and use ranges reserved for fiction where one exists (UK 020 7946 0xxx: phone
// libraries accept it as valid, unlike the 07700 900xxx mobile range); emails use the
// reserved example.com / example.org domains, so a demo can never reach a real person.
type Customer struct {
	ID       string
	Name     string
	Phone    string
	Email    string
	Birthday time.Time // a date: midnight UTC
	TimeZone string
	Store    string
	Segment  Segment
	Since    time.Time // first contact (lead creation)
}

// Synthetic is a generated customer base and its transactions in time order.
type Synthetic struct {
	Customers []Customer
	Txns      []model.Txn
}

type product struct {
	sku, name  string
	effectDays int
	price      model.Money // fen
}

// A clinic catalogue: the effect durations drive repurchase reminders downstream.
var catalogue = []product{
	{"CONSULT", "Skin consultation", 0, 30_000},
	{"SERUM", "Repair serum 30ml", 0, 28_000},
	{"PEEL", "Chemical peel", 0, 80_000},
	{"LASER", "Laser toning session", 30, 120_000},
	{"BOTOX", "Botulinum toxin 50U", 120, 250_000},
	{"HA-FILLER", "Hyaluronic acid filler 1ml", 180, 380_000},
}

var (
	surnames   = []struct{ han, pinyin string }{{"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"}, {"杨", "yang"}, {"赵", "zhao"}, {"黄", "huang"}, {"周", "zhou"}, {"吴", "wu"}}
	givenNames = []struct{ han, pinyin string }{{"芳", "fang"}, {"伟", "wei"}, {"娜", "na"}, {"敏", "min"}, {"静", "jing"}, {"丽", "li"}, {"强", "qiang"}, {"磊", "lei"}, {"洋", "yang"}, {"婷", "ting"}, {"秀英", "xiuying"}, {"晓明", "xiaoming"}}
	ukFirst    = []string{"Olivia", "Amelia", "Isla", "Jack", "Harry", "Oscar", "Sophie", "George"}
	ukLast     = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Clarke"}
)

// Synth generates a customer base with a realistic mix: about 4% heavy spenders, 26%
// regulars, 45% one-off buyers, 15% lapsed and 10% leads who never bought; about 3% of
// purchases are refunded (fully or in half) within two weeks. Money is in fen.
func Synth(cfg SynthConfig) Synthetic {
	stores := cfg.Stores
	if len(stores) == 0 {
		stores = []string{"shanghai-jingan", "beijing-chaoyang", "shenzhen-nanshan"}
	}
	span := cfg.To.Sub(cfg.From)
	out := Synthetic{Customers: make([]Customer, 0, cfg.Customers)}
	if cfg.Customers <= 0 || span <= 0 {
		return out
	}
	for i := 0; i < cfg.Customers; i++ {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(i)*0x9e3779b97f4a7c15+1))
		c := synthCustomer(rng, i, stores)
		txns := synthTxns(rng, &c, cfg.From, cfg.To)
		out.Customers = append(out.Customers, c)
		out.Txns = append(out.Txns, txns...)
	}
	sort.SliceStable(out.Txns, func(i, j int) bool { return out.Txns[i].At.Before(out.Txns[j].At) })
	return out
}

func synthCustomer(rng *rand.Rand, i int, stores []string) Customer {
	c := Customer{ID: fmt.Sprintf("c%06d", i+1)}
	switch x := rng.Float64(); {
	case x < 0.04:
		c.Segment = SegmentHeavy
	case x < 0.30:
		c.Segment = SegmentRegular
	case x < 0.75:
		c.Segment = SegmentOneOff
	case x < 0.90:
		c.Segment = SegmentLapsed
	default:
		c.Segment = SegmentLead
	}
	c.Birthday = time.Date(1960+rng.IntN(45), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
	if rng.Float64() < 0.08 {
		first, last := ukFirst[rng.IntN(len(ukFirst))], ukLast[rng.IntN(len(ukLast))]
		c.Name = first + " " + last
		c.Phone = fmt.Sprintf("+442079460%03d", rng.IntN(1000))
		c.Email = fmt.Sprintf("%s.%s%d@example.org", lower(first), lower(last), i+1)
		c.TimeZone = "Europe/London"
		c.Store = "london-soho"
		return c
	}
	s, g := surnames[rng.IntN(len(surnames))], givenNames[rng.IntN(len(givenNames))]
	c.Name = s.han + g.han
	c.Phone = fmt.Sprintf("+86138%08d", rng.IntN(100_000_000))
	c.Email = fmt.Sprintf("%s.%s%d@example.com", g.pinyin, s.pinyin, i+1)
	c.TimeZone = "Asia/Shanghai"
	c.Store = stores[rng.IntN(len(stores))]
	return c
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// synthTxns draws purchase times as a renewal process whose mean gap depends on the
// segment, so frequency, recency and spend vary together the way they do in real bases.
func synthTxns(rng *rand.Rand, c *Customer, from, to time.Time) []model.Txn {
	span := to.Sub(from)
	at := func(frac float64) time.Time { return from.Add(time.Duration(frac * float64(span))) }
	var (
		start, stop time.Time
		meanGapDays float64
		maxItems    int
		premium     float64 // chance an item comes from the expensive end of the catalogue
	)
	switch c.Segment {
	case SegmentLead:
		c.Since = at(rng.Float64())
		return nil
	case SegmentHeavy:
		start, stop, meanGapDays, maxItems, premium = at(rng.Float64()*0.3), to, 12, 4, 0.7
	case SegmentRegular:
		start, stop, meanGapDays, maxItems, premium = at(rng.Float64()*0.6), to, 45, 2, 0.3
	case SegmentOneOff:
		start, stop, meanGapDays, maxItems, premium = at(rng.Float64()), to, 0, 2, 0.2
	case SegmentLapsed:
		start = at(rng.Float64() * 0.3)
		stop = start.Add(time.Duration((0.1 + 0.3*rng.Float64()) * float64(span)))
		meanGapDays, maxItems, premium = 30, 2, 0.3
	}
	c.Since = start.Add(-time.Duration(rng.IntN(30*24)) * time.Hour)
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	var txns []model.Txn
	for t, n := start, 1; !t.After(stop) && t.Before(to); n++ {
		day := t.In(loc)
		when := time.Date(day.Year(), day.Month(), day.Day(), 10+rng.IntN(10), rng.IntN(60), 0, 0, loc)
		if when.Before(from) || !when.Before(to) {
			break
		}
		p := model.Txn{CustomerID: c.ID, ExternalID: fmt.Sprintf("%s-%04d", c.ID, n), Store: c.Store, At: when}
		for k := 1 + rng.IntN(maxItems); k > 0; k-- {
			var pr product
			if rng.Float64() < premium {
				pr = catalogue[3+rng.IntN(3)]
			} else {
				pr = catalogue[rng.IntN(3)]
			}
			p.Items = append(p.Items, model.TxnItem{SKU: pr.sku, Name: pr.name, Qty: 1, UnitPrice: pr.price, EffectDays: pr.effectDays})
			p.Amount += pr.price
		}
		txns = append(txns, p)
		if rng.Float64() < 0.03 {
			back := when.Add(time.Duration(1+rng.IntN(14)) * 24 * time.Hour)
			if back.Before(to) {
				amount := p.Amount
				if rng.Float64() < 0.3 {
					amount /= 2
				}
				txns = append(txns, model.Txn{CustomerID: c.ID, ExternalID: "C" + p.ExternalID, Store: c.Store, At: back, Amount: amount, Refund: true})
			}
		}
		if meanGapDays == 0 {
			break
		}
		gap := rng.ExpFloat64() * meanGapDays
		t = when.Add(time.Duration(math.Max(1, gap) * 24 * float64(time.Hour)))
	}
	return txns
}
