package tiering

import (
	"hash/fnv"
	"math"
	"sort"
)

// DefaultSketchCapacity keeps a summary exact up to this many distinct values; the JSON
// of a full exact summary stays around 60 KB, well inside an SQS message or DynamoDB item.
const DefaultSketchCapacity = 4096

// sketchAlpha is the relative accuracy once a summary is bucketed: every value is placed
// as if it were within ±1% of itself.
const sketchAlpha = 0.01

var logGamma = math.Log((1 + sketchAlpha) / (1 - sketchAlpha))

// Sketch is a mergeable summary of one metric over the customer base, from which quantile
// scores are read. It counts each distinct value exactly until it holds more than Capacity
// of them, then switches to logarithmic buckets of relative width 2α (α = 1%; integers
// below 50 still get a bucket each). Error bound once bucketed: a customer is ranked as if
// its value could be anywhere in its bucket, so its rank is off by at most the number of
// customers sharing that bucket — with money in minor units that is the customers within
// ±1% of its spend. Whether a merge is exact depends only on the distinct values of the
// union, so merging per-segment summaries in any order gives the same result as one
// summary of the whole base.
type Sketch struct {
	Capacity int              `json:"capacity"`
	N        uint64           `json:"n"`
	Exact    map[int64]uint64 `json:"exact,omitempty"`
	Buckets  map[int32]uint64 `json:"buckets,omitempty"`
}

// NewSketch returns an empty summary; capacity ≤ 0 means DefaultSketchCapacity.
func NewSketch(capacity int) *Sketch {
	if capacity <= 0 {
		capacity = DefaultSketchCapacity
	}
	return &Sketch{Capacity: capacity, Exact: map[int64]uint64{}}
}

// Bucketed reports whether the summary has given up exactness.
func (s *Sketch) Bucketed() bool { return s.Buckets != nil }

// Add counts one value.
func (s *Sketch) Add(v int64) { s.addN(v, 1) }

func (s *Sketch) addN(v int64, n uint64) {
	s.N += n
	if s.Buckets != nil {
		s.Buckets[bucketOf(v)] += n
		return
	}
	if s.Exact == nil {
		s.Exact = map[int64]uint64{}
	}
	s.Exact[v] += n
	if len(s.Exact) > s.capacity() {
		s.collapse()
	}
}

func (s *Sketch) capacity() int {
	if s.Capacity <= 0 {
		return DefaultSketchCapacity
	}
	return s.Capacity
}

func (s *Sketch) collapse() {
	s.Buckets = make(map[int32]uint64, 256)
	for v, n := range s.Exact {
		s.Buckets[bucketOf(v)] += n
	}
	s.Exact = nil
}

// Merge adds another summary (another scan segment) into s. Capacities should match; the
// smaller one wins so that the result never claims more exactness than its parts had.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil {
		return
	}
	if o.Capacity > 0 && o.Capacity < s.capacity() {
		s.Capacity = o.Capacity
		if s.Buckets == nil && len(s.Exact) > s.Capacity {
			s.collapse()
		}
	}
	if s.Exact == nil && s.Buckets == nil {
		s.Exact = map[int64]uint64{} // a zero Sketch, or an empty one read back from JSON
	}
	if o.Buckets != nil && s.Buckets == nil {
		s.collapse()
	}
	if s.Buckets != nil {
		s.N += o.N
		for v, n := range o.Exact {
			s.Buckets[bucketOf(v)] += n
		}
		for b, n := range o.Buckets {
			s.Buckets[b] += n
		}
		return
	}
	union := len(s.Exact)
	for v := range o.Exact {
		if _, ok := s.Exact[v]; !ok {
			union++
		}
	}
	if union > s.capacity() {
		s.collapse()
		s.N += o.N
		for v, n := range o.Exact {
			s.Buckets[bucketOf(v)] += n
		}
		return
	}
	s.N += o.N
	for v, n := range o.Exact {
		s.Exact[v] += n
	}
}

// bucketOf maps a value to its logarithmic bucket: 0 alone, positives up, negatives
// mirrored (a customer whose refunds exceed purchases has negative net spend).
func bucketOf(v int64) int32 {
	switch {
	case v == 0:
		return 0
	case v > 0:
		return 1 + int32(math.Ceil(math.Log(float64(v))/logGamma))
	default:
		return -1 - int32(math.Ceil(math.Log(float64(-v))/logGamma))
	}
}

// Ranks is a frozen summary: sorted keys with cumulative counts, for fast lookups while
// pass 2 assigns tiers.
type Ranks struct {
	n        uint64
	bucketed bool
	keys     []int64
	below    []uint64 // customers strictly below keys[i]
}

// Freeze turns the summary into a lookup table. The sketch may keep growing afterwards.
func (s *Sketch) Freeze() *Ranks {
	r := &Ranks{n: s.N, bucketed: s.Buckets != nil}
	counts := map[int64]uint64{}
	if r.bucketed {
		for b, n := range s.Buckets {
			counts[int64(b)] = n
		}
	} else {
		for v, n := range s.Exact {
			counts[v] = n
		}
	}
	r.keys = make([]int64, 0, len(counts))
	for k := range counts {
		r.keys = append(r.keys, k)
	}
	sort.Slice(r.keys, func(i, j int) bool { return r.keys[i] < r.keys[j] })
	r.below = make([]uint64, len(r.keys)+1)
	for i, k := range r.keys {
		r.below[i+1] = r.below[i] + counts[k]
	}
	return r
}

// N is how many customers the summary counted.
func (r *Ranks) N() uint64 { return r.n }

// Rank places v in the base: how many customers are below it and how many share its
// value (its bucket, once bucketed). A value the base never saw shares with nobody.
func (r *Ranks) Rank(v int64) (below, equal uint64) {
	k := v
	if r.bucketed {
		k = int64(bucketOf(v))
	}
	i := sort.Search(len(r.keys), func(i int) bool { return r.keys[i] >= k })
	below = r.below[i]
	if i < len(r.keys) && r.keys[i] == k {
		equal = r.below[i+1] - r.below[i]
	}
	return below, equal
}

// Quintile returns 0..4: which fifth of the base v falls in. Customers sharing a value are
// spread over the fifths that value spans by a stable hash of their id — the same split
// as ranking with ties broken by order (pandas rank(method="first") then qcut), but one
// that does not depend on scan order, so every segment and every re-run agrees.
func (r *Ranks) Quintile(v int64, id string) int {
	if r == nil || r.n == 0 {
		return 2
	}
	below, equal := r.Rank(v)
	rank := below
	if equal > 1 {
		rank += uint64(tieFraction(id) * float64(equal))
	}
	q := int(rank * 5 / r.n)
	return min(max(q, 0), 4)
}

// tieFraction is a stable number in [0, 1) for a customer id.
func tieFraction(id string) float64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	// FNV's high bits barely move between ids like c000001 and c000002; the splitmix64
	// finaliser spreads them so every fifth gets its share.
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}
