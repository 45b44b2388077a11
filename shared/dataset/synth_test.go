package dataset

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

func synthSample() (SynthConfig, Synthetic) {
	cfg := SynthConfig{
		Seed:      7,
		Customers: 3000,
		From:      time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC),
		To:        time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	return cfg, Synth(cfg)
}

func TestSynthIsDeterministicAndPrefixStable(t *testing.T) {
	cfg, a := synthSample()
	b := Synth(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed must give the same data")
	}
	small := cfg
	small.Customers = 100
	s := Synth(small)
	if !reflect.DeepEqual(s.Customers, a.Customers[:100]) {
		t.Error("customer i must not depend on how many customers are generated")
	}
	other := cfg
	other.Seed = 8
	if reflect.DeepEqual(Synth(other).Customers[:20], a.Customers[:20]) {
		t.Error("another seed must give other customers")
	}
}

func TestSynthProfilesAreReachableButFictional(t *testing.T) {
	_, d := synthSample()
	cn := regexp.MustCompile(`^\+86138\d{8}$`)
	uk := regexp.MustCompile(`^\+442079460\d{3}$`)
	ids := map[string]bool{}
	var ukCount int
	for _, c := range d.Customers {
		if ids[c.ID] {
			t.Fatalf("duplicate id %s", c.ID)
		}
		ids[c.ID] = true
		switch {
		case cn.MatchString(c.Phone):
			if c.TimeZone != "Asia/Shanghai" {
				t.Errorf("%s: Chinese mobile with time zone %s", c.ID, c.TimeZone)
			}
		case uk.MatchString(c.Phone):
			ukCount++
			if c.TimeZone != "Europe/London" {
				t.Errorf("%s: UK mobile with time zone %s", c.ID, c.TimeZone)
			}
		default:
			t.Errorf("%s: phone %q is neither +86 138… nor the UK fiction range", c.ID, c.Phone)
		}
		if !strings.HasSuffix(c.Email, "@example.com") && !strings.HasSuffix(c.Email, "@example.org") {
			t.Errorf("%s: email %q is not on a reserved domain", c.ID, c.Email)
		}
		if c.Name == "" || c.Store == "" || c.Birthday.IsZero() {
			t.Errorf("%s: incomplete profile %+v", c.ID, c)
		}
	}
	if ukCount == 0 || ukCount > len(d.Customers)/5 {
		t.Errorf("UK customers = %d of %d, want a few", ukCount, len(d.Customers))
	}
}

func TestSynthMixLooksLikeARealBase(t *testing.T) {
	cfg, d := synthSample()
	purchases := map[string]int{}
	spend := map[string]int64{}
	last := map[string]time.Time{}
	invoices := map[string]model.Txn{}
	var refunds int
	for i, x := range d.Txns {
		if i > 0 && x.At.Before(d.Txns[i-1].At) {
			t.Fatal("transactions must be in time order")
		}
		if x.At.Before(cfg.From) || !x.At.Before(cfg.To) {
			t.Fatalf("%s at %v is outside the configured period", x.ExternalID, x.At)
		}
		if x.Refund {
			refunds++
			orig, ok := invoices[strings.TrimPrefix(x.ExternalID, "C")]
			if !ok || x.Amount <= 0 || x.Amount > orig.Amount || !x.At.After(orig.At) {
				t.Fatalf("refund %s must follow and not exceed its purchase %+v", x.ExternalID, orig)
			}
		} else {
			if x.Amount <= 0 || len(x.Items) == 0 {
				t.Fatalf("purchase %s has amount %v and %d items", x.ExternalID, x.Amount, len(x.Items))
			}
			purchases[x.CustomerID]++
			invoices[x.ExternalID] = x
			last[x.CustomerID] = x.At
		}
		spend[x.CustomerID] += int64(x.Net())
	}
	var leads, oneOff int
	var top, total int64
	for _, c := range d.Customers {
		switch purchases[c.ID] {
		case 0:
			leads++
		case 1:
			oneOff++
		}
		total += spend[c.ID]
	}
	// The top 5% of customers by spend should bring a large share, as in real bases.
	sorted := make([]int64, 0, len(spend))
	for _, v := range spend {
		sorted = append(sorted, v)
	}
	slices.Sort(sorted)
	slices.Reverse(sorted)
	for _, v := range sorted[:len(d.Customers)/20] {
		top += v
	}
	n := float64(len(d.Customers))
	if f := float64(leads) / n; f < 0.05 || f > 0.15 {
		t.Errorf("leads = %.0f%%, want about 10%%", f*100)
	}
	if f := float64(oneOff) / n; f < 0.35 {
		t.Errorf("one-off buyers = %.0f%%, want many", f*100)
	}
	if share := float64(top) / float64(total); share < 0.3 {
		t.Errorf("top 5%% bring %.0f%% of spend, want a heavy head", share*100)
	}
	if f := float64(refunds) / float64(len(invoices)); f < 0.01 || f > 0.06 {
		t.Errorf("refund rate %.1f%%, want about 3%%", f*100)
	}
	var lapsed int
	for _, c := range d.Customers {
		if c.Segment == SegmentLapsed && cfg.To.Sub(last[c.ID]) > 90*24*time.Hour {
			lapsed++
		}
	}
	if lapsed == 0 {
		t.Error("lapsed customers must have stopped buying")
	}
}
