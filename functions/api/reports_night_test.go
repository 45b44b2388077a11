package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/queue"
	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
	"github.com/tierflow/tierflow/shared/tiering"
	tapp "github.com/tierflow/tierflow/shared/tiering/app"
)

// nightAsOf is the synthetic base's "tonight".
var nightAsOf = time.Date(2024, 12, 10, 23, 0, 0, 0, time.UTC)

// seededStore is what a test store was given: every buyer's net spend in the policy
// window (the report's revenue measure), leads, and sources.
type seededStore struct {
	id        string
	customers int
	leads     int
	spends    []model.Money
	bySource  map[string]int // "source|campaign" → profiles
	cohortN   int            // buyers whose first purchase is in the window
}

// seedStore creates n customers of a store through the lead path (so each has a first
// touch with a UTM source), and gives all but every tenth one purchases through ingest.
// Spends are deterministic and skewed (a few large buyers), all inside the window.
func seedStore(t testing.TB, table *store.Table, st string, n int) seededStore {
	t.Helper()
	ctx := context.Background()
	s := seededStore{id: st, customers: n, bySource: map[string]int{}}
	utms := []customer.UTM{{Source: "wechat", Campaign: "spring"}, {Source: "baidu"}, {}}
	ing := &tapp.Ingest{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Ledger: table, Now: func() time.Time { return nightAsOf }}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		utm := utms[i%3]
		s.bySource[utm.Source+"|"+utm.Campaign]++
		buys := i%10 != 0
		var spend model.Money
		var txns []model.Txn
		if buys {
			visits := 1 + i%3
			for v := 0; v < visits; v++ {
				amt := model.Money(1000 + (i*7919)%5000)
				if i%17 == 0 {
					amt *= 40 // a big spender
				}
				at := time.Date(2024, time.Month(3+(i%5)+2*v), 1+i%27, 10, 0, 0, 0, time.UTC)
				txns = append(txns, model.Txn{Source: "test", ExternalID: fmt.Sprintf("%s-%d-%d", st, i, v), Store: st, At: at, Amount: amt, Currency: "CNY"})
				spend += amt
			}
			s.spends = append(s.spends, spend)
			s.cohortN++
		} else {
			s.leads++
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := table.CreateByContact(ctx, customer.Lead{Email: fmt.Sprintf("c%d-%s@example.com", i, st), Store: st, UTM: utm,
				Submission: customer.Submission{At: nightAsOf.AddDate(-1, 0, 0), Channel: "form"}}, customer.Grading{}, nightAsOf)
			if err != nil {
				errs <- err
				return
			}
			for _, tx := range txns {
				tx.CustomerID = id
				if _, err := ing.Apply(ctx, tiering.DefaultPolicy(), tx); err != nil {
					errs <- err
					return
				}
			}
			mu.Lock()
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return s
}

// runNight runs a whole nightly run over the table as the retier function does, and
// returns the finished run.
func runNight(t testing.TB, table *store.Table, id string) tapp.Run {
	t.Helper()
	ctx := context.Background()
	q := &queue.Memory{}
	n := &tapp.Nightly{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Policies: table, Runs: table, Profiles: table, Models: table,
		Queue: q, Segments: 2, Zone: time.UTC, Now: func() time.Time { return nightAsOf }, CLV: tapp.CLVConfig{Disabled: true}}
	if _, err := n.Start(ctx, tapp.StartRequest{Action: "nightly", RunID: id, AsOf: &nightAsOf}); err != nil {
		t.Fatal(err)
	}
	for {
		body, ok := q.Pop()
		if !ok {
			break
		}
		var msg tapp.SegmentMsg
		if err := json.Unmarshal([]byte(body), &msg); err != nil {
			t.Fatal(err)
		}
		if err := n.Segment(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	run, _, err := table.GetRun(ctx, id)
	if err != nil || run.Status != tapp.RunDone {
		t.Fatalf("run %s: %+v %v", id, run, err)
	}
	return run
}

// exactShare is the share of revenue of the ⌈share·n⌉ largest spends, recomputed here.
func exactShare(spends []model.Money, share float64) float64 {
	s := slices.Clone(spends)
	slices.Sort(s)
	slices.Reverse(s)
	k := int(math.Ceil(share*float64(len(s)) - 1e-9))
	var top, total model.Money
	for i, v := range s {
		total += v
		if i < k {
			top += v
		}
	}
	return float64(top) / float64(total)
}

type tiersReport struct {
	Top20    float64 `json:"top20RevenueShare"`
	Curve    []tiering.ParetoPoint
	Pareto   []struct{ CustomerShare, RevenueShare float64 } `json:"paretoCurve"`
	Method   string                                          `json:"paretoMethod"`
	MaxError float64                                         `json:"paretoMaxError"`
	LastRun  struct {
		ID              string   `json:"id"`
		Customers       int      `json:"customers"`
		Changed         int      `json:"changed"`
		DurationSeconds *float64 `json:"durationSeconds"`
		FinishedAt      *string  `json:"finishedAt"`
	} `json:"lastRun"`
	Tiers []TierRow `json:"tiers"`
}

func (r tiersReport) at(share float64) float64 {
	for _, p := range r.Pareto {
		if p.CustomerShare >= share-1e-12 {
			return p.RevenueShare
		}
	}
	return -1
}

// The manager's overview and its charts, from one real nightly run over a seeded base:
// the Pareto curve's 20 % point is the exact top-fifth share of the seeded spends, the
// migration matrix sums to the customers with a tier, the funnel to every customer, the
// sources and cohorts count what was seeded — per store, and merged for two stores
// within the stated error. A store's staff see nothing of another store.
func TestReportsOfANightlyRunOverASeededBase(t *testing.T) {
	table := tableOf(t)
	a := testAppOn(t, table, func() time.Time { return nightAsOf.Add(30 * time.Minute) })
	sfx := storetest.Suffix()
	sh := seedStore(t, table, "sh-"+sfx, 150)
	bj := seedStore(t, table, "bj-"+sfx, 40)
	run := runNight(t, table, "night-reports-"+sfx)

	get := func(claims map[string]string, name string, q map[string]string) (int, []byte) {
		q2 := map[string]string{"run": run.ID}
		for k, v := range q {
			q2[k] = v
		}
		resp := serveReq(t, a, map[string]string{}, "GET /v1/reports/{name}", "/v1/reports/"+name, "", claims, q2)
		return resp.StatusCode, []byte(resp.Body)
	}
	shMgr, bjMgr := staff("clinician", sh.id), staff("clinician", bj.id)
	both := map[string]string{"sub": "clin-both", auth.ClaimRole: "clinician", auth.ClaimStores: sh.id + " " + bj.id}

	for _, st := range []seededStore{sh, bj} {
		before := table.Units.Snapshot()
		code, body := get(staff("clinician", st.id), "tiers", nil)
		ru := table.Units.Snapshot().Sub(before)
		var r tiersReport
		if err := json.Unmarshal(body, &r); err != nil || code != 200 {
			t.Fatalf("%s tiers: %d %s", st.id, code, body)
		}
		want := exactShare(st.spends, 0.2)
		if r.Top20 != want || r.at(0.2) != want || r.Method != "exact" {
			t.Fatalf("%s: top-20 %% %.6f, curve at 20 %% %.6f (%s); the seeded spends give %.6f", st.id, r.Top20, r.at(0.2), r.Method, want)
		}
		if len(r.Pareto) != 100 || r.Pareto[19].CustomerShare != 0.2 || r.Pareto[19].RevenueShare != r.Top20 || r.Pareto[len(r.Pareto)-1].CustomerShare != 1 || math.Abs(r.Pareto[len(r.Pareto)-1].RevenueShare-1) > 1e-9 {
			t.Fatalf("%s: %d points ending at %+v", st.id, len(r.Pareto), r.Pareto[len(r.Pareto)-1])
		}
		if got, want := r.at(0.5), exactShare(st.spends, 0.5); got != want {
			t.Fatalf("%s: curve at 50 %% %.6f, want %.6f", st.id, got, want)
		}
		if r.LastRun.ID != run.ID || r.LastRun.Customers != st.customers || r.LastRun.Changed < len(st.spends) ||
			r.LastRun.DurationSeconds == nil || r.LastRun.FinishedAt == nil {
			t.Fatalf("%s: last run %+v", st.id, r.LastRun)
		}
		t.Logf("%s: %d buyers, top-20 %% share %.1f%%, tiers view %.1f RRU in %d calls", st.id, len(st.spends), 100*want, ru.Read, ru.Calls)
		if ru.Write != 0 || ru.Calls > 4 {
			t.Fatalf("%s tiers view: %.1f RRU %.1f WRU in %d calls; a view reads the run's aggregates only", st.id, ru.Read, ru.Write, ru.Calls)
		}

		var mig struct {
			RunID     string         `json:"runId"`
			Customers int            `json:"customers"`
			Matrix    []MigrationRow `json:"matrix"`
		}
		code, body = get(staff("clinician", st.id), "migration", nil)
		if err := json.Unmarshal(body, &mig); err != nil || code != 200 {
			t.Fatalf("%s migration: %d %s", st.id, code, body)
		}
		sum := 0
		for _, c := range mig.Matrix {
			sum += c.Customers
		}
		if len(mig.Matrix) != 12 || sum != len(st.spends) || mig.Customers != sum || mig.RunID != run.ID {
			t.Fatalf("%s: the matrix sums to %d over %d cells, want every buyer (%d): %s", st.id, sum, len(mig.Matrix), len(st.spends), body)
		}

		var fun struct {
			Stages []tiering.FunnelRow `json:"stages"`
		}
		code, body = get(staff("clinician", st.id), "funnel", nil)
		if err := json.Unmarshal(body, &fun); err != nil || code != 200 || len(fun.Stages) != 6 {
			t.Fatalf("%s funnel: %d %s", st.id, code, body)
		}
		total := 0
		for _, s := range fun.Stages {
			total += s.Customers
		}
		if fun.Stages[0].Stage != "lead" || fun.Stages[0].Customers != st.leads || total != st.customers {
			t.Fatalf("%s: funnel %+v, want %d leads of %d customers", st.id, fun.Stages, st.leads, st.customers)
		}

		var src struct {
			Rows []tiering.SourceRow `json:"rows"`
		}
		code, body = get(staff("clinician", st.id), "sources", nil)
		if err := json.Unmarshal(body, &src); err != nil || code != 200 {
			t.Fatalf("%s sources: %d %s", st.id, code, body)
		}
		got := map[string]int{}
		for _, r := range src.Rows {
			s := r.Source
			if s == "(none)" {
				s = ""
			}
			got[s+"|"+r.Campaign] = r.Leads
		}
		if fmt.Sprint(got) != fmt.Sprint(st.bySource) {
			t.Fatalf("%s: sources %v, seeded %v", st.id, got, st.bySource)
		}

		var coh struct {
			Cohorts []tiering.CohortRow `json:"cohorts"`
		}
		code, body = get(staff("clinician", st.id), "cohorts", nil)
		if err := json.Unmarshal(body, &coh); err != nil || code != 200 {
			t.Fatalf("%s cohorts: %d %s", st.id, code, body)
		}
		n, retained := 0, 0
		for _, c := range coh.Cohorts {
			n += c.Customers
			for _, r := range c.Retained {
				retained += r.Customers
			}
		}
		if n != st.cohortN || retained == 0 {
			t.Fatalf("%s: cohorts hold %d customers (%d returns), seeded %d buyers in the window", st.id, n, retained, st.cohortN)
		}
	}

	// The business view: the run header and the policy, whatever the base's size.
	before := table.Units.Snapshot()
	if code, body := get(adminClaims, "tiers", nil); code != 200 {
		t.Fatalf("the business: %d %s", code, body)
	}
	ru := table.Units.Snapshot().Sub(before)
	if ru.Write != 0 || ru.Calls > 3 {
		t.Fatalf("the business tiers view: %.1f RRU %.1f WRU in %d calls", ru.Read, ru.Write, ru.Calls)
	}
	t.Logf("business tiers view: %.1f RRU in %d calls", ru.Read, ru.Calls)

	// Two stores together: a merged curve, a lower bound within its stated error.
	code, body := get(both, "tiers", nil)
	var r tiersReport
	if err := json.Unmarshal(body, &r); err != nil || code != 200 {
		t.Fatalf("both stores: %d %s", code, body)
	}
	all := append(slices.Clone(sh.spends), bj.spends...)
	for _, share := range []float64{0.1, 0.2, 0.5} {
		exact := exactShare(all, share)
		if got := r.at(share); r.Method == "exact" || got > exact+1e-9 || exact-got > r.MaxError+1e-9 {
			t.Fatalf("two stores at %.0f %%: %.5f (%s, error %.5f), exact %.5f", 100*share, got, r.Method, r.MaxError, exact)
		}
	}
	// Another store's figures are not found; bad input is named.
	for _, name := range []string{"tiers", "migration", "cohorts", "funnel", "sources"} {
		if code, body := get(bjMgr, name, map[string]string{"store": sh.id}); code != 404 {
			t.Fatalf("bj's clinician asking for sh's %s: %d %s", name, code, body)
		}
		if code, _ := get(shMgr, name, map[string]string{"month": "2024-01"}); code != 400 {
			t.Fatalf("%s with an unknown parameter: %d", name, code)
		}
	}

	testPolicyPreview(t, a, table, sh, bj)
}

// testPolicyPreview: the preview over the base the night just assessed. The policy in
// force changes nobody; a stricter one moves customers down only and plans follow-up;
// the matrix always sums to the customers of the caller's scope; a sample (bounds
// lowered to force one) is scaled to the scope's size with a stated margin.
func testPolicyPreview(t *testing.T, a *app, table *store.Table, sh, bj seededStore) {
	cur, _, err := table.CurrentPolicy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stricter := cur.Clone()
	stricter.Tiers.AMin, stricter.Tiers.BMin = stricter.Tiers.AMin+1, stricter.Tiers.BMin+2
	stricter.InstantUpgrades = nil
	doc := func(p *tiering.Policy) string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	post := func(h *previewAPI, claims map[string]string, body string, q map[string]string) (int, PreviewResponse, string) {
		resp := serveReq(t, a, map[string]string{}, "POST /v1/policy/preview", "/v1/policy/preview", body, claims, q)
		if h != nil { // the same request straight to a preview with other bounds
			req := events.APIGatewayV2HTTPRequest{RouteKey: "POST /v1/policy/preview", RawPath: "/v1/policy/preview", Body: body,
				Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: q}
			req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
			var err error
			if resp, err = h.preview(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}
		var out PreviewResponse
		if resp.StatusCode == 200 {
			if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, out, resp.Body
	}
	matrixSum := func(r PreviewResponse) (sum int) {
		for _, c := range r.Matrix {
			sum += c.Customers
		}
		return sum
	}
	shAdmin := staff("admin", sh.id)

	before := table.Units.Snapshot()
	start := time.Now()
	code, r, body := post(nil, shAdmin, doc(cur), nil)
	took, ru := time.Since(start), table.Units.Snapshot().Sub(before)
	if code != 200 || r.Method != "exact" || r.Customers != sh.customers || matrixSum(r) != sh.customers || r.Changed != 0 || r.Error != 0 {
		t.Fatalf("preview of the policy in force for %s: %d %s", sh.id, code, body)
	}
	t.Logf("preview, exact over %d profiles read: %v, %.1f RRU, %.1f WRU", r.SampleSize, took.Round(time.Millisecond), ru.Read, ru.Write)
	if ru.Write != 0 {
		t.Fatalf("a preview wrote %.1f WRU", ru.Write)
	}

	code, r, body = post(nil, shAdmin, doc(stricter), nil)
	if code != 200 || r.Changed == 0 || matrixSum(r) != sh.customers || r.FollowUp.Calls30d+r.FollowUp.Messages30d == 0 {
		t.Fatalf("a stricter policy: %d %s", code, body)
	}
	for _, c := range r.Matrix {
		if c.Customers > 0 && c.From != "none" && c.To != "none" && c.To < c.From {
			t.Fatalf("a stricter policy moves %d up %s → %s", c.Customers, c.From, c.To)
		}
	}
	t.Logf("stricter policy on %s: %d of %d change, %d messages and %d calls in 30 days", sh.id, r.Changed, r.Customers, r.FollowUp.Messages30d, r.FollowUp.Calls30d)

	// A sample: bounds lowered so this small base is "large".
	small := newPreviewAPI(a)
	small.limits = store.PreviewLimits{ExactUpTo: 10, Sample: 60, PerSegment: 20, Parallel: 2, RandomOrder: rand.Perm}
	code, r, body = post(small, shAdmin, doc(stricter), nil)
	if code != 200 || r.Method != "sample" || r.Customers != sh.customers || matrixSum(r) != sh.customers || r.SampleSize < 60 || r.Error <= 0 {
		t.Fatalf("a sampled preview: %d %s", code, body)
	}
	t.Logf("sampled preview: %d profiles read, changed %d ± %.0f (95 %%)", r.SampleSize, r.Changed, r.Error)

	// The time budget: past it no segment is started, and what was read is the sample.
	tick := nightAsOf
	slow := newPreviewAPI(a)
	slow.limits = store.PreviewLimits{ExactUpTo: 1 << 30, Sample: 1 << 30, PerSegment: 20, Parallel: 1, Budget: time.Second,
		Now: func() time.Time { tick = tick.Add(time.Second); return tick }} // every segment "takes" a second
	code, r, body = post(slow, shAdmin, doc(stricter), nil)
	if code != 200 || r.Method != "sample" || r.Customers != sh.customers || matrixSum(r) != sh.customers || r.SampleSize == 0 {
		t.Fatalf("a preview past its time budget: %d %s", code, body)
	}

	// Admins only; another store's admin sees nothing of sh; bad input is named.
	if code, _, _ := post(nil, staff("clinician", sh.id), doc(cur), nil); code != 403 {
		t.Fatalf("a clinician previewing: %d", code)
	}
	if code, _, _ := post(nil, staff("admin", bj.id), doc(cur), map[string]string{"store": sh.id}); code != 404 {
		t.Fatalf("bj's admin previewing sh: %d", code)
	}
	bad := cur.Clone()
	bad.Tiers.BMin = 99
	for name, tc := range map[string]struct {
		body string
		q    map[string]string
		want int
	}{
		"an invalid threshold": {doc(bad), nil, 400},
		"not a policy":         {`[1,2]`, nil, 400},
		"an unknown parameter": {doc(cur), map[string]string{"dryRun": "1"}, 400},
	} {
		if code, _, body := post(nil, shAdmin, tc.body, tc.q); code != tc.want || !strings.Contains(body, "problem") && !strings.Contains(body, "invalid") {
			t.Fatalf("%s: %d %s", name, code, body)
		}
	}
}

// BenchmarkPolicyPreview measures an exact preview over a seeded base of 2,000 customers
// (go test -run - -bench PolicyPreview ./functions/api under tierflow-local test): time
// and request units per preview, and per profile read — the figures docs/tiering.md
// scales to a sampled preview of 1 M customers.
func BenchmarkPolicyPreview(b *testing.B) {
	table := storetest.Table(b)
	previewBench.once.Do(func() { // the base once, not again for each round of b.N
		sfx := storetest.Suffix()
		previewBench.st = seedStore(b, table, "pv-"+sfx, 2000)
		runNight(b, table, "night-preview-"+sfx)
	})
	st := previewBench.st
	a := testAppOnTB(b, table, func() time.Time { return nightAsOf.Add(30 * time.Minute) })
	pol, _, err := table.CurrentPolicy(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	pol.Tiers.AMin++
	doc, err := json.Marshal(pol)
	if err != nil {
		b.Fatal(err)
	}
	h := newPreviewAPI(a)
	req := events.APIGatewayV2HTTPRequest{RouteKey: "POST /v1/policy/preview", RawPath: "/v1/policy/preview", Body: string(doc),
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: map[string]string{"store": st.id}}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: adminClaims}}
	before := table.Units.Snapshot()
	var read int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := h.preview(context.Background(), req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
		var r PreviewResponse
		if err := json.Unmarshal([]byte(resp.Body), &r); err != nil || r.Customers != st.customers || r.Method != "exact" {
			b.Fatalf("preview: %s", resp.Body)
		}
		read = r.SampleSize
	}
	ru := table.Units.Snapshot().Sub(before)
	b.ReportMetric(ru.Read/float64(b.N), "RRU/preview")
	b.ReportMetric(ru.Write/float64(b.N), "WRU/preview")
	b.ReportMetric(float64(read), "profiles/preview")
	b.ReportMetric(ru.Read/float64(b.N)/float64(read), "RRU/profile")
	if ru.Write != 0 {
		b.Fatalf("a preview wrote %.1f WRU", ru.Write)
	}
}

// previewBench is BenchmarkPolicyPreview's base, seeded once per test binary.
var previewBench struct {
	once sync.Once
	st   seededStore
}

// testAppOnTB is testAppOn for a benchmark.
func testAppOnTB(tb testing.TB, table *store.Table, now func() time.Time) *app {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := crand.Read(key); err != nil {
		tb.Fatal(err)
	}
	local, err := seal.NewLocal(key)
	if err != nil {
		tb.Fatal(err)
	}
	a, err := wire(slog.New(slog.NewTextHandler(io.Discard, nil)), aws.Config{}, table, storetest.Emulators(tb).SQSClient(),
		&seal.Sealer{Wrapper: local}, now, time.UTC)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}
