package tiering

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

func TestSketchRanksExactly(t *testing.T) {
	s := NewSketch(0)
	for _, v := range []int64{5, 1, 3, 3, 3, 9} {
		s.Add(v)
	}
	r := s.Freeze()
	tests := []struct {
		v            int64
		below, equal uint64
	}{{0, 0, 0}, {1, 0, 1}, {3, 1, 3}, {4, 4, 0}, {9, 5, 1}, {10, 6, 0}}
	for _, tc := range tests {
		b, e := r.Rank(tc.v)
		if b != tc.below || e != tc.equal {
			t.Errorf("Rank(%d) = %d,%d; want %d,%d", tc.v, b, e, tc.below, tc.equal)
		}
	}
}

// Segments of a parallel scan summarised separately and merged in any order must give
// the summary of the whole base, exact or bucketed.
func TestSketchMergeIsOrderFree(t *testing.T) {
	for _, capacity := range []int{100_000, 64} {
		rng := rand.New(rand.NewPCG(1, 2))
		whole := NewSketch(capacity)
		parts := make([]*Sketch, 8)
		for i := range parts {
			parts[i] = NewSketch(capacity)
		}
		for i := 0; i < 5000; i++ {
			v := int64(rng.ExpFloat64()*50_000) - 1000
			whole.Add(v)
			parts[rng.IntN(len(parts))].Add(v)
		}
		for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7}, {7, 3, 5, 1, 0, 6, 2, 4}} {
			merged := NewSketch(capacity)
			for _, i := range order {
				// Through JSON, as segments hand their summaries over.
				b, err := json.Marshal(parts[i])
				if err != nil {
					t.Fatal(err)
				}
				var back Sketch
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				merged.Merge(&back)
			}
			if !reflect.DeepEqual(merged, whole) {
				t.Fatalf("capacity %d order %v: merged summary differs from the whole (bucketed %v vs %v, n %d vs %d)",
					capacity, order, merged.Bucketed(), whole.Bucketed(), merged.N, whole.N)
			}
		}
		if capacity == 64 && !whole.Bucketed() {
			t.Error("a summary over capacity must switch to buckets")
		}
	}
}

// Once bucketed, a customer's quintile may differ from the exact one only when customers
// within ±1% of its value straddle a cut point.
func TestSketchBucketedRankErrorIsBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	exact, approx := NewSketch(1<<20), NewSketch(256)
	vals := make([]int64, 20_000)
	for i := range vals {
		vals[i] = int64(rng.ExpFloat64() * 300_000)
		exact.Add(vals[i])
		approx.Add(vals[i])
	}
	re, ra := exact.Freeze(), approx.Freeze()
	var moved int
	for i, v := range vals {
		be, _ := re.Rank(v)
		ba, ea := ra.Rank(v)
		// The exact rank lies within the bucket's range.
		if be < ba || be > ba+ea {
			t.Fatalf("value %d: exact rank %d outside bucket range [%d, %d]", v, be, ba, ba+ea)
		}
		if re.Quintile(v, string(rune(i))) != ra.Quintile(v, string(rune(i))) {
			moved++
		}
	}
	if f := float64(moved) / float64(len(vals)); f > 0.02 {
		t.Errorf("%.1f%% of customers changed quintile through bucketing, want under 2%%", f*100)
	}
}

func TestQuintilesSplitTiesEvenlyAndStably(t *testing.T) {
	s := NewSketch(0)
	for i := 0; i < 10_000; i++ {
		s.Add(1) // everyone bought once: the quintiles can only come from the tie split
	}
	r := s.Freeze()
	var counts [5]int
	for i := 0; i < 10_000; i++ {
		id := "c" + string(rune('a'+i%26)) + string(rune(i))
		q := r.Quintile(1, id)
		if q != r.Quintile(1, id) {
			t.Fatal("the same customer must always land in the same quintile")
		}
		counts[q]++
	}
	for q, n := range counts {
		if n < 1800 || n > 2200 {
			t.Errorf("quintile %d holds %d of 10000, want about 2000", q+1, n)
		}
	}
}

// A worker that saw no customers hands over an empty summary; merging into it, or a
// Base missing a dimension, must work rather than crash the run.
func TestEmptySummariesMerge(t *testing.T) {
	var empty Base
	b, err := json.Marshal(NewBase(0))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &empty); err != nil {
		t.Fatal(err)
	}
	seg := NewBase(0)
	seg.Add(Metrics{HasHistory: true, RecencyDays: 3, Frequency: 2, Monetary: 500})
	empty.Merge(seg)
	var zero Base
	zero.Merge(&empty)
	zero.Merge(&Base{})
	zero.Add(Metrics{HasHistory: true, RecencyDays: 9, Frequency: 1, Monetary: 100})
	cuts := zero.Freeze()
	if cuts.M.N() != 2 {
		t.Fatalf("merged base counts %d customers, want 2", cuts.M.N())
	}
	if below, _ := cuts.M.Rank(500); below != 1 {
		t.Errorf("spend 500 has %d customers below, want 1", below)
	}
}
