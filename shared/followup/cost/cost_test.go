package cost

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/tierflow/tierflow/shared/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// TestOneMessageDispatchedFitsTheBudget: sweep + dispatch of one message to a customer
// who has been messaged before costs at most 6 request units (issue #13), and a
// customer's first message (which creates their unsubscribe token) is measured too.
func TestOneMessageDispatchedFitsTheBudget(t *testing.T) {
	ctx := context.Background()
	u, err := MessageSent(ctx, storetest.Table(t), Options{Messages: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one message dispatched: %.2f RU (%.2f read, %.2f write), %d calls", u.Total(), u.Read, u.Write, u.Calls)
	if u.Total() > Budget {
		t.Errorf("one message dispatched costs %.2f RU (%.2f read, %.2f write); the budget is %.0f", u.Total(), u.Read, u.Write, Budget)
	}
	// A day later: the sweep of the same table remembers it already ran at the first time.
	first, err := MessageSent(ctx, storetest.Table(t), Options{Messages: 40, FirstMessage: true, At: time.Date(2040, 1, 3, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a customer's first message: %.2f RU (%.2f read, %.2f write)", first.Total(), first.Read, first.Write)
	if first.Total() <= u.Total() {
		t.Errorf("a first message (%.2f RU) costs no more than a repeat one (%.2f): the token creation is not measured", first.Total(), u.Total())
	}
}
