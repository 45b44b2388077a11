package tiering

import (
	"slices"

	"github.com/tierflow/tierflow/shared/model"
)

// Top20 is the exact revenue of the top fifth of customers by net spend: the ⌈n/5⌉
// customers with the highest spend (ties at the cut are the same amount whoever is
// taken). k is how many that is; cut is the spend of the k-th, the lowest in the fifth.
// spends is sorted in place.
func Top20(spends []model.Money) (sum model.Money, k int, cut model.Money) {
	n := len(spends)
	if n == 0 {
		return 0, 0, 0
	}
	k = (n + 4) / 5
	slices.SortFunc(spends, func(a, b model.Money) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	for _, v := range spends[:k] {
		sum += v
	}
	return sum, k, spends[k-1]
}
