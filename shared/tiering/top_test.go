package tiering

import (
	"testing"

	"github.com/tierflow/tierflow/shared/model"
)

func TestTop20IsTheExactTopFifthBySpend(t *testing.T) {
	cases := []struct {
		name   string
		spends []model.Money
		sum    model.Money
		k      int
		cut    model.Money
	}{
		{"nobody bought: nothing", nil, 0, 0, 0},
		{"one customer is the whole top fifth", []model.Money{500}, 500, 1, 500},
		{"ten customers: the two largest", []model.Money{1, 2, 3, 4, 5, 6, 7, 8, 9, 100}, 109, 2, 9},
		{"eleven customers: the fifth rounds up to three", []model.Money{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 30, 3, 9},
		{"ties at the cut count their amount once per place", []model.Money{5, 5, 5, 5, 5, 1, 1, 1, 1, 1}, 10, 2, 5},
		{"a net refund is spend below zero, at the bottom", []model.Money{-300, 200, 100, 50, 10}, 200, 1, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sum, k, cut := Top20(tc.spends)
			if sum != tc.sum || k != tc.k || cut != tc.cut {
				t.Fatalf("Top20 = %d, %d, %d; want %d, %d, %d", sum, k, cut, tc.sum, tc.k, tc.cut)
			}
		})
	}
}
