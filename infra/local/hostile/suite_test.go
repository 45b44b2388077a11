package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/tierflow/tierflow/infra/local/esm"

	"github.com/tierflow/tierflow/shared/store"
)

// row is one hostile request (or a short sequence of them) and what must come of it.
type row struct {
	Name  string // the rule it checks; rows for a finding of issue #10 start "finding N:"
	Class string // OWASP API Security Top 10 (2023) item, or "local admin door"
	Route string // the template route it attacks ("GET /v1/customers/{id}"); "" for /_local
	Actor string
	Req   request
	Want  expect
	// Then are further requests of the same row, sent after the first one's work drained.
	Then []step
	// Audit names the customers (world names) on whom the attempt must be logged, by the
	// row's actor.
	Audit []string
	Allow allowance
	// Needs names a route that was added in parallel with the row; a row whose route is
	// missing from template.yaml fails (a skip would go unseen under go test).
	Needs string
}

type step struct {
	Actor string
	Req   request
	Want  expect
}

// expect is what the answer must be. The zero value means "refused": any 4xx.
type expect struct {
	Status  []int    // the status must be one of these; none: any 4xx
	Gateway bool     // answered by API Gateway itself ({"message": …}), before any function ran
	Problem bool     // an RFC 9457 application/problem+json body
	Fields  []string // fields the problem must name (a JSON pointer ending with it, or the name)
	Body    string   // the body must be this JSON document
	NoLeak  []string // none of these (placeholders filled) may appear in the body
	// NoFigures are numbers that may not appear in the body as a number of their own (not
	// as digits inside a longer one, such as a timestamp's nanoseconds).
	NoFigures []string
	// Items are the per-item results of a POST /v1/transactions answer, in order:
	// "status" or "status /field" (the item's errors name a field ending with it).
	Items []string
	// SameAs is a request whose answer this one must equal: same status, byte-identical
	// body apart from request ids (C1).
	SameAs *request
	Check  func(w *world, r response) error
}

// refused reports whether every status the row accepts is a refusal.
func (e expect) refused() bool {
	for _, s := range e.Status {
		if s < 400 {
			return false
		}
	}
	return true
}

// allowance lists the changes a row's requests may legitimately make; all of them are
// undone after the row, so the next row starts from the same world.
type allowance struct {
	// PublicTouch: a lead that matches this known person may add a touch, a follow-up
	// task and a consent confirmation (C4), and nothing else: the profile's stored
	// fields and consent stay as they were.
	PublicTouch string
	// Partitions: these customers' items may change (a request that must succeed).
	Partitions []string
	// Require: these customers' profile attributes must change ("bjA.aggregates").
	Require []string
}

// profileBookkeeping are the profile attributes a touch from the public door may move:
// the touch list itself, timestamps and the item version, the lead grade used to order
// follow-up, and the token a confirmation link carries. Everything else — name, phone,
// e-mail, birthday, store, consent, opt-out, tier, aggregates — is a stored field.
var profileBookkeeping = []string{"touches", "updatedAt", "version", "leadGrade", "gradeReason", "unsubToken"}

// dataPrefixes are the partitions of stored data; a new item elsewhere (a consent
// confirmation token, a frequency counter) is bookkeeping of the public door.
var dataPrefixes = []string{"PROFILES#", "CUST#", "PHONE#", "EMAIL#", "REF#", "TXNID#", "REM#", "POLICY#", "RUN#", "ALERT#", "STAFF#", "FEEDBACK#"}

// profileKey is how a change names a customer's profile item ("PK SK").
func profileKey(id string) string {
	k := store.CustomerKey(id)
	return k.PK + " " + k.SK
}

func (a allowance) permits(w *world, c change) bool {
	owner := func() string { // the world name of the customer an item belongs to
		if id, ok := strings.CutPrefix(c.PK, "CUST#"); ok {
			return w.names[id]
		}
		if id, ok := strings.CutPrefix(c.SK, "PROFILE#"); ok && strings.HasPrefix(c.PK, "PROFILES#") {
			return w.names[id]
		}
		item := c.After
		if item == nil {
			item = c.Before
		}
		if id := str(item.Raw["customerId"]); id != "" {
			return w.names[id]
		}
		return ""
	}
	if slices.Contains(a.Partitions, owner()) && owner() != "" {
		return true
	}
	if a.Partitions != nil && strings.HasPrefix(c.PK, "TXNID#") && c.kind() == "added" {
		return true // the once-marker of a transaction applied to one of them
	}
	if p := a.PublicTouch; p != "" {
		switch {
		case strings.HasPrefix(c.PK, "CTR#") && c.kind() != "removed":
			return true // the round-robin and frequency counters of the follow-up it plans
		case c.Key == profileKey(w.customers[p]) && c.kind() == "modified":
			for _, attr := range c.Attrs {
				if !slices.Contains(profileBookkeeping, attr) {
					return false
				}
			}
			return true
		case c.kind() != "added":
			return false
		case c.PK == "CUST#"+w.customers[p]:
			// New items of the person's timeline (the touch, a task pointer, a pending
			// confirmation); not a purchase, a tier change, a survey answer or a section.
			return !slices.ContainsFunc([]string{"SENSITIVE", "TXN#", "TIER#", "FEEDBACK#"}, func(x string) bool { return strings.HasPrefix(c.SK, x) })
		case strings.HasPrefix(c.PK, "REM#") && owner() == p:
			return true
		case strings.HasPrefix(c.PK, "UNSUB#") && owner() == p:
			return true
		case !slices.ContainsFunc(dataPrefixes, func(d string) bool { return strings.HasPrefix(c.PK, d) }):
			return true
		}
	}
	return false
}

// successActions are audit actions that say a customer was read or changed: written for a
// refused request, they would say the refusal was not one.
var successActions = []string{"read", "read-timeline", "export", "update", "erase"}

// result is one row's outcome, for the summary at the end.
type result struct {
	name, class string
	failed      bool
	skipped     bool
	reasons     []string
}

func TestHostileRequests(t *testing.T) {
	t0 := time.Now()
	w := seedWorld(t)
	seeded := time.Since(t0)
	rs := allRows(t)
	first := scan(t)
	cur := first
	var results []*result
	for _, r := range rs {
		res := &result{name: r.Name, class: r.Class}
		results = append(results, res)
		compared := false
		t.Run(r.Name, func(t *testing.T) {
			defer func() { res.failed, res.skipped = t.Failed(), t.Skipped() }()
			cur = runRow(t, w, r, cur, res)
			compared = true
		})
		if !compared && !res.skipped {
			// The row stopped before its comparison (the harness could not send or read
			// something): undo whatever it did, so that the next row is not blamed.
			if err := drainAll(); err != nil {
				t.Logf("undoing the row that stopped early: %v", err) // the row has failed already
			}
			var undo []change
			for _, c := range diff(cur, scan(t)) {
				if exclusion(c) == "" {
					undo = append(undo, c)
				}
			}
			restore(t, undo)
			cur = scan(t)
		}
	}

	// Everything the rows did is undone row by row; what is left must be exactly the
	// world as seeded. This catches work that finished after its row was compared.
	if err := drainAll(); err != nil {
		t.Errorf("after the last row: %v", err)
	}
	for _, c := range diff(first, scan(t)) {
		if exclusion(c) == "" {
			t.Errorf("after every row ran, stored data differs from the seeded world: %s", c)
		}
	}
	summarize(t, results, seeded, time.Since(t0))
}

func runRow(t *testing.T, w *world, r row, before snapshot, res *result) snapshot {
	fail := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		res.reasons = append(res.reasons, msg)
		t.Error(msg)
	}
	if r.Needs != "" && !routePresent(r.Needs) {
		// Every route these rows need is in the template now: a skip here would be silent
		// under go test, so a row whose route went away fails instead.
		t.Fatalf("%s is not in template.yaml: the row cannot run", r.Needs)
	}
	steps := append([]step{{Actor: r.Actor, Req: r.Req, Want: r.Want}}, r.Then...)
	for i, s := range steps {
		resp := send(t, w, s.Req, w.tokens[s.Actor])
		label := ""
		if len(steps) > 1 {
			label = fmt.Sprintf("step %d (%s %s as %s): ", i+1, s.Req.Method, s.Req.Path, s.Actor)
		}
		for _, p := range verify(t, w, s, resp) {
			fail("%s%s", label, p)
		}
		if err := drainAll(); err != nil {
			fail("%s%v", label, err)
		}
	}

	after := scan(t)
	changes := diff(before, after)
	var undo []change
	for _, c := range changes {
		if exclusion(c) != "" {
			continue
		}
		undo = append(undo, c)
		if !r.Allow.permits(w, c) {
			fail("stored data changed: %s", w.describe(c))
		}
	}
	for _, p := range auditCheck(w, r, changes) {
		fail("%s", p)
	}
	for _, req := range r.Allow.Require {
		who, attr, _ := strings.Cut(req, ".")
		key := profileKey(w.customers[who])
		if !slices.ContainsFunc(changes, func(c change) bool { return c.Key == key && slices.Contains(c.Attrs, attr) }) {
			fail("%s's %s did not change: the request that had to take effect did not", who, attr)
		}
	}
	if len(undo) > 0 {
		restore(t, undo)
		after = scan(t)
	}
	return after
}

// describe names the customer an item belongs to, for failure messages.
func (w *world) describe(c change) string {
	s := c.String()
	for id, name := range w.names {
		s = strings.ReplaceAll(s, id, name)
	}
	return s
}

// verify checks one answer against what the step wants.
func verify(t *testing.T, w *world, s step, r response) []string {
	t.Helper()
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	e := s.Want
	switch {
	case r.Status >= 500:
		bad("answered %s: a request a caller can send must never be a server error", r.short())
	case len(e.Status) == 0 && (r.Status < 400 || r.Status > 499):
		bad("answered %s, want a refusal (4xx)", r.short())
	case len(e.Status) > 0 && !slices.Contains(e.Status, r.Status):
		bad("answered %s, want %v", r.short(), e.Status)
	}
	ct := r.Header.Get("Content-Type")
	if e.Gateway {
		var m map[string]any
		if json.Unmarshal(r.Body, &m) != nil || len(m) != 1 || m["message"] == nil {
			bad("answered by a function (%s), want API Gateway's own refusal before any function runs", r.short())
		}
	}
	if e.Problem && !strings.HasPrefix(ct, "application/problem+json") {
		bad("Content-Type %q, want application/problem+json", ct)
	}
	if len(e.Fields) > 0 {
		var p struct {
			Errors []struct{ Field string } `json:"errors"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			bad("the answer is not JSON: %s", r.short())
		}
		for _, f := range e.Fields {
			if !slices.ContainsFunc(p.Errors, func(x struct{ Field string }) bool { return fieldIs(x.Field, f) }) {
				bad("the answer does not name the field %s: %s", f, r.short())
			}
		}
	}
	if e.Body != "" {
		var got, want any
		if json.Unmarshal(r.Body, &got) != nil || json.Unmarshal([]byte(w.expand(t, e.Body)), &want) != nil || !reflect.DeepEqual(got, want) {
			bad("body %s, want %s", bytes.TrimSpace(r.Body), e.Body)
		}
	}
	for _, l := range e.NoLeak {
		if v := w.expand(t, l); v != "" && bytes.Contains(r.Body, []byte(v)) {
			bad("the answer reveals %s (%q): %s", l, v, r.short())
		}
	}
	for _, f := range e.NoFigures {
		if regexp.MustCompile(`(^|[^0-9.])` + regexp.QuoteMeta(f) + `([^0-9]|$)`).Match(r.Body) {
			bad("the answer holds the figure %s, which only other stores have: %s", f, r.short())
		}
	}
	if e.Items != nil {
		out = append(out, itemsCheck(e.Items, r)...)
	}
	if e.SameAs != nil {
		twin := send(t, w, *e.SameAs, w.tokens[s.Actor])
		a, b := normalize(r), normalize(twin)
		if r.Status != twin.Status || a != b {
			bad("the answer differs from the one for %s %s, so it tells them apart:\n  this: %d %s\n  that: %d %s",
				e.SameAs.Method, e.SameAs.Path, r.Status, a, twin.Status, b)
		}
	}
	if e.Check != nil {
		if err := e.Check(w, r); err != nil {
			bad("%v", err)
		}
	}
	return out
}

// fieldIs matches a problem's field against a wanted one: "/customer/id" matches
// "/transactions/0/customer/id"; "cursor" matches "cursor" and "/cursor".
func fieldIs(got, want string) bool {
	return got == want || strings.HasSuffix(got, "/"+strings.TrimPrefix(want, "/"))
}

// normalize is an answer's body with its request id taken out (C1 compares the rest).
func normalize(r response) string {
	b := string(bytes.TrimSpace(r.Body))
	if id := r.Header.Get("Apigw-Requestid"); id != "" {
		b = strings.ReplaceAll(b, id, "<request-id>")
	}
	return b
}

func itemsCheck(want []string, r response) []string {
	var body struct {
		Results []struct {
			Status string `json:"status"`
			Errors []struct {
				Field string `json:"field"`
			} `json:"errors"`
		} `json:"results"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil || len(body.Results) != len(want) {
		return []string{fmt.Sprintf("want %d per-item results (%s), got %s", len(want), strings.Join(want, "; "), r.short())}
	}
	var out []string
	for i, wnt := range want {
		status, field, _ := strings.Cut(wnt, " ")
		got := body.Results[i]
		if got.Status != status {
			out = append(out, fmt.Sprintf("item %d: status %q, want %q", i, got.Status, status))
			continue
		}
		if field != "" && !slices.ContainsFunc(got.Errors, func(e struct {
			Field string `json:"field"`
		}) bool {
			return fieldIs(e.Field, field)
		}) {
			out = append(out, fmt.Sprintf("item %d: errors do not name %s: %s", i, field, r.short()))
		}
	}
	return out
}

// auditCheck looks at the audit entries a row added: each on a customer the row named,
// by the row's actor, and none saying a refused read or change took place; and the
// entries the row must leave are there.
func auditCheck(w *world, r row, changes []change) []string {
	var out []string
	targets := r.targets(w)
	refused := r.Want.refused()
	for _, s := range r.Then {
		refused = refused && s.Want.refused()
	}
	logged := map[string]bool{}
	for _, c := range changes {
		id, ok := strings.CutPrefix(c.PK, "AUDIT#")
		if !ok || c.kind() != "added" {
			continue
		}
		name, action, actor := w.names[id], str(c.After.Raw["action"]), str(c.After.Raw["actor"])
		switch {
		case name == "":
			out = append(out, fmt.Sprintf("audit entry %q for %q, who is no customer", action, id))
		case !slices.Contains(targets, name):
			out = append(out, fmt.Sprintf("audit entry %q on %s, whom the request did not name", action, name))
		case refused && slices.Contains(successActions, action):
			out = append(out, fmt.Sprintf("audit entry %q on %s: the log says a refused request read or changed them", action, name))
		case r.Actor == anonymous && staffSub(actor):
			// The public door may log what it did under a name of its own, never under a
			// staff member's.
			out = append(out, fmt.Sprintf("audit entry %q on %s for an anonymous request names staff member %q", action, name, actor))
		case r.Actor != anonymous && actor != subOf(r.Actor) && !slices.ContainsFunc(r.Then, func(s step) bool { return subOf(s.Actor) == actor }):
			out = append(out, fmt.Sprintf("audit entry %q on %s names actor %q, want %q", action, name, actor, subOf(r.Actor)))
		default:
			logged[name] = true
		}
	}
	for _, name := range r.Audit {
		if !logged[name] {
			out = append(out, fmt.Sprintf("the attempt is not in %s's audit log (want an entry by %s)", name, subOf(r.Actor)))
		}
	}
	return out
}

func staffSub(sub string) bool {
	for a := range staff {
		if subOf(a) == sub {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9]+)`)

// targets are the customers a row's requests name.
func (r row) targets(w *world) []string {
	var out []string
	reqs := []request{r.Req}
	for _, s := range r.Then {
		reqs = append(reqs, s.Req)
	}
	for _, q := range reqs {
		for _, m := range placeholder.FindAllStringSubmatch(q.Path+" "+q.Body, -1) {
			if _, ok := w.customers[m[1]]; ok && !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
	}
	if p := r.Allow.PublicTouch; p != "" && !slices.Contains(out, p) {
		out = append(out, p)
	}
	return out
}

// drainAll waits until no queue holds work, waiting or in flight. A message that failed
// waits out its visibility timeout (minutes) before a retry: rather than wait, the queues
// are purged and the failure reported, since a hostile request must never have queued
// work that fails.
func drainAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := st.Emulators.SQSClient()
	urls := queueURLs()
	failedAtStart, _ := failedCount()
	for {
		busy, visible := 0, 0
		for _, u := range urls {
			out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u),
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
					sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
			if err != nil {
				return fmt.Errorf("queue depth: %w", err)
			}
			// A missing or unreadable count must not read as an empty queue.
			v, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
			if err != nil {
				return fmt.Errorf("queue depth of %s: %w", u, err)
			}
			n, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
			if err != nil {
				return fmt.Errorf("messages in flight on %s: %w", u, err)
			}
			busy, visible = busy+v+n, visible+v
		}
		if busy == 0 {
			return nil
		}
		if failed, last := failedCount(); visible == 0 && failed > failedAtStart {
			for _, u := range urls {
				if _, err := c.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}); err != nil {
					return fmt.Errorf("purge %s: %w", u, err)
				}
			}
			return fmt.Errorf("queued work failed in a function (it would be retried, then dead-lettered): %s", last)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the queues still hold %d messages", busy)
		case <-time.After(20 * time.Millisecond): // polling the queues' depth
		}
	}
}

var queueURLCache []string

func queueURLs() []string {
	if queueURLCache == nil {
		for _, q := range st.Template.Queues {
			if u, ok := st.Resources.Ref(q.LogicalID); ok && !q.IsDLQ {
				queueURLCache = append(queueURLCache, u)
			}
		}
	}
	return queueURLCache
}

// failedCount is how many messages the event source mappings have left for redelivery
// so far, and the last error they saw.
func failedCount() (int64, string) {
	stats, ok := st.Status()["eventSources"].(map[string]esm.Stats)
	if !ok {
		// Without the mappings' counts no failed delivery would ever be seen.
		panic(fmt.Sprintf("the stack's status has no event source statistics: %T", st.Status()["eventSources"]))
	}
	var n int64
	var last []string
	for name, s := range stats {
		n += s.Failed
		if s.LastError != "" {
			last = append(last, name+": "+s.LastError)
		}
	}
	sort.Strings(last)
	return n, strings.Join(last, "; ")
}

// summarize logs the rows that failed, by class, with their first reason: the list the
// fixes of issue #10 are checked against.
func summarize(t *testing.T, results []*result, seeded, total time.Duration) {
	byClass := map[string][2]int{}
	var failed []string
	for _, r := range results {
		c := byClass[r.class]
		c[0]++
		if r.failed {
			c[1]++
			reason := ""
			if len(r.reasons) > 0 {
				reason = strings.SplitN(r.reasons[0], "\n", 2)[0]
			}
			failed = append(failed, fmt.Sprintf("  FAIL %s — %s", r.name, reason))
		}
		byClass[r.class] = c
	}
	classes := make([]string, 0, len(byClass))
	for c := range byClass {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	var b strings.Builder
	fmt.Fprintf(&b, "hostile suite: %d rows, world seeded in %s, %s in all\n", len(results), seeded.Round(time.Millisecond), total.Round(time.Millisecond))
	for _, c := range classes {
		fmt.Fprintf(&b, "  %-40s %3d rows, %3d failing\n", c, byClass[c][0], byClass[c][1])
	}
	for _, f := range failed {
		b.WriteString(f + "\n")
	}
	t.Log(b.String())
}
