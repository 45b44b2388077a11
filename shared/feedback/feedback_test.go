package feedback

import (
	"errors"
	"math"
	"testing"
)

func csat(v int) *CSAT { c := CSAT(v); return &c }
func nps(v int) *NPS   { n := NPS(v); return &n }

func TestResponse(t *testing.T) {
	tests := []struct {
		name      string
		r         Response
		invalid   bool
		complaint bool
		sentiment Sentiment
	}{
		{"CSAT 2 is a complaint", Response{CSAT: csat(2)}, false, true, Dissatisfied},
		{"CSAT 3 is neither complaint nor praise", Response{CSAT: csat(3)}, false, false, Neutral},
		{"CSAT 4 is satisfied", Response{CSAT: csat(4)}, false, false, Satisfied},
		{"NPS 6 is a complaint", Response{NPS: nps(6)}, false, true, Dissatisfied},
		{"NPS 7 is passive, not a complaint", Response{NPS: nps(7)}, false, false, Neutral},
		{"NPS 9 is satisfied", Response{NPS: nps(9)}, false, false, Satisfied},
		{"a low CSAT with a high NPS is still a complaint", Response{CSAT: csat(1), NPS: nps(10)}, false, true, Dissatisfied},
		{"CSAT 0 is rejected", Response{CSAT: csat(0)}, true, false, Neutral},
		{"CSAT 6 is rejected", Response{CSAT: csat(6)}, true, false, Neutral},
		{"NPS 11 is rejected", Response{NPS: nps(11)}, true, false, Neutral},
		{"NPS -1 is rejected", Response{NPS: nps(-1)}, true, false, Neutral},
		{"an empty answer is rejected", Response{}, true, false, Neutral},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Validate()
			if tc.invalid {
				if !errors.Is(err, ErrOutOfRange) {
					t.Fatalf("Validate = %v, want ErrOutOfRange", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.r.Complaint(); got != tc.complaint {
				t.Errorf("Complaint = %v, want %v", got, tc.complaint)
			}
			if got := tc.r.Sentiment(); got != tc.sentiment {
				t.Errorf("Sentiment = %v, want %v", got, tc.sentiment)
			}
		})
	}
}

func TestEmotionAccount(t *testing.T) {
	run := func(ss ...Sentiment) EmotionAccount {
		var a EmotionAccount
		for _, s := range ss {
			a = a.Record(s)
		}
		return a
	}
	sat := func(n int) []Sentiment {
		s := make([]Sentiment, n)
		for i := range s {
			s[i] = Satisfied
		}
		return s
	}
	tests := []struct {
		name string
		acc  EmotionAccount
		want int
	}{
		{"no history scores 50", run(), 50},
		{"one satisfied interaction adds 5 points", run(Satisfied), 55},
		{"one dissatisfied interaction costs three satisfied ones", run(Dissatisfied), 35},
		{"three satisfied then one dissatisfied is back to neutral", run(Satisfied, Satisfied, Satisfied, Dissatisfied), 50},
		{"many satisfied interactions stop at 100", run(sat(40)...), 100},
		{"four complaints bottom out at 0", run(Dissatisfied, Dissatisfied, Dissatisfied, Dissatisfied), 0},
		{"a long good history does not shield a customer from two bad visits", run(append(sat(40), Dissatisfied, Dissatisfied)...), 70},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.acc.Score(); got != tc.want {
				t.Errorf("Score = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRQI(t *testing.T) {
	tests := []struct {
		name string
		rqi  RQI
		want float64
		err  bool
	}{
		{"loyalty weighs 40%", RQI{0, 0, 100}, 40, false},
		{"trust and satisfaction weigh 30% each", RQI{100, 100, 0}, 60, false},
		{"a mixed relationship", RQI{80, 60, 50}, 62, false},
		{"a component above 100 is rejected", RQI{101, 0, 0}, 0, true},
		{"a negative component is rejected", RQI{0, -1, 0}, 0, true},
		{"NaN is rejected", RQI{math.NaN(), 0, 0}, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rqi.Score()
			if tc.err != errors.Is(err, ErrOutOfRange) {
				t.Fatalf("err = %v", err)
			}
			if math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Score = %v, want %v", got, tc.want)
			}
		})
	}
	if CSAT(1).Percent() != 0 || CSAT(5).Percent() != 100 {
		t.Error("CSAT 1–5 must span 0–100")
	}
}

func TestNetPromoterScore(t *testing.T) {
	if _, ok := NetPromoterScore(nil); ok {
		t.Error("NPS of no answers reported as known")
	}
	got, _ := NetPromoterScore([]NPS{10, 9, 8, 7, 6, 0, 10, 10, 3, 9})
	if got != 20 { // 5 promoters, 3 detractors out of 10
		t.Errorf("NPS = %v, want 20", got)
	}
}
