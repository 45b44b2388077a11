package store

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/clv"
	"github.com/tierflow/tierflow/shared/model"
)

// Occasions is the compact purchase-occasion record the customer-base model needs and
// the monthly aggregates cannot give (they count transactions, not purchase days, and
// keep only the policy window). It is kept on the profile (`occasions`) by ApplyTxn.
//
// Days counts distinct purchase days in the purchase's own time zone. It is exact when
// transactions arrive in time order (what POS systems do) and when a late one falls on
// the first or last purchase day or outside them; a late purchase strictly between the
// first and last day is counted as a new occasion, since telling otherwise would need
// the whole day set. Net is the lifetime net spend of all occasions, FirstNet that of
// the first; refunds reduce the first occasion while it is the only one, later ones the
// repeat spend (the model's "the occasion it falls on or follows").
type Occasions struct {
	Days     int         `dynamodbav:"days" json:"days"`
	First    string      `dynamodbav:"first" json:"first"` // YYYY-MM-DD
	Last     string      `dynamodbav:"last" json:"last"`
	FirstNet model.Money `dynamodbav:"firstNet" json:"firstNet"`
	Net      model.Money `dynamodbav:"net" json:"net"`
}

// Apply folds one transaction in; amount is negative for a refund.
func (o *Occasions) Apply(at time.Time, amount model.Money, refund bool) {
	day := at.Format(time.DateOnly)
	if refund || amount < 0 {
		if o.Days == 0 || day < o.First {
			return // no occasion before it: the model ignores it too
		}
		o.Net += amount
		if o.Days == 1 || day == o.First {
			o.FirstNet += amount
		}
		return
	}
	switch {
	case o.Days == 0:
		*o = Occasions{Days: 1, First: day, Last: day, FirstNet: amount, Net: amount}
	case day == o.First:
		o.FirstNet += amount
		o.Net += amount
	case day == o.Last:
		o.Net += amount
	case day < o.First:
		o.Days++
		o.First, o.FirstNet = day, amount
		o.Net += amount
	case day > o.Last:
		o.Days++
		o.Last = day
		o.Net += amount
	default: // late, between first and last: assumed a day of its own (see the type)
		o.Days++
		o.Net += amount
	}
}

// Summary is the model's view of the customer as of a business day, in the given
// period. ok=false: no purchase on or before that day.
func (o Occasions) Summary(asOfDay string, period clv.Period) (s clv.Summary, ok bool) {
	unit, err := period.Days()
	if err != nil || o.Days < 1 || o.First == "" || o.First > asOfDay {
		return clv.Summary{}, false
	}
	first, e1 := time.Parse(time.DateOnly, o.First)
	last, e2 := time.Parse(time.DateOnly, o.Last)
	end, e3 := time.Parse(time.DateOnly, asOfDay)
	if e1 != nil || e2 != nil || e3 != nil {
		return clv.Summary{}, false
	}
	if last.After(end) {
		last = end // purchases after the as-of day are not known yet on that day
	}
	days := func(a, b time.Time) float64 { return math.Round(b.Sub(a).Hours() / 24) }
	s.T = days(first, end) / unit
	if o.Days > 1 {
		s.X = float64(o.Days - 1)
		s.Tx = days(first, last) / unit
		s.MeanSpend = float64(o.Net-o.FirstNet) / s.X
	}
	return s, true
}

// Occasions as they are best known: the stored record, or, for a profile ingested before
// the record existed, an estimate from the tier aggregates (every transaction a day, the
// window's mean order as the repeat spend).
func (r ProfileRow) OccasionsOrEstimate() Occasions {
	if r.Occasions != nil {
		return *r.Occasions
	}
	a := r.Aggregates
	if a.Purchases < 1 || a.FirstPurchase.IsZero() {
		return Occasions{}
	}
	o := Occasions{Days: a.Purchases, First: a.FirstPurchase.Format(time.DateOnly), Last: a.LastPurchase.Format(time.DateOnly)}
	var n int
	var net model.Money
	for _, m := range a.Months {
		n += m.Purchases
		net += m.Net
	}
	if n > 0 && o.Days > 1 {
		mean := net / model.Money(n)
		o.FirstNet, o.Net = mean, mean*model.Money(o.Days)
	}
	return o
}

// ProfileCLV is the `clv` attribute of a profile: the nightly run's prediction.
// Money is in minor units; every number is finite (checked before it is written).
type ProfileCLV struct {
	PAlive            float64     `dynamodbav:"pAlive" json:"pAlive"`
	ExpectedPurchases float64     `dynamodbav:"expectedPurchases90d" json:"expectedPurchases90d"`
	ExpectedSpend     model.Money `dynamodbav:"expectedSpend" json:"expectedSpend"`
	CLV               model.Money `dynamodbav:"clv12m" json:"clv12m"`
	Risk              clv.Risk    `dynamodbav:"risk" json:"risk"`
	ModelVersion      string      `dynamodbav:"modelVersion" json:"modelVersion"`
	Explanation       string      `dynamodbav:"explanation" json:"explanation"`
	At                string      `dynamodbav:"at" json:"at"` // business day of the prediction
}

// ExpectedLoss is the value the business stands to lose if the customer has left:
// CLV × (1 − P(alive)), in minor units.
func (p ProfileCLV) ExpectedLoss() model.Money {
	return model.Money(math.Round(float64(p.CLV) * (1 - p.PAlive)))
}

// Finite reports whether every number of the prediction is finite and in range.
func (p ProfileCLV) Finite() bool {
	for _, v := range []float64{p.PAlive, p.ExpectedPurchases} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return false
		}
	}
	return p.PAlive <= 1
}

// --- samples (pass 1) ---------------------------------------------------------------

// SampleEntry is one customer in a pass-1 sample: the hash that chose it, and its summary.
type SampleEntry struct {
	Hash uint32
	S    clv.Summary
}

// ScopeBusiness names the whole-business sample and model; a store's is its name.
const ScopeBusiness = "*"

const sampleEntryBytes = 20 // hash + four float32

// EncodeSample packs entries as little-endian uint32 hash + float32 x, tx, T, mean spend:
// 2,000 customers take 40 KB, a tenth of DynamoDB's item limit.
func EncodeSample(es []SampleEntry) []byte {
	b := make([]byte, 0, len(es)*sampleEntryBytes)
	for _, e := range es {
		b = binary.LittleEndian.AppendUint32(b, e.Hash)
		for _, v := range []float64{e.S.X, e.S.Tx, e.S.T, e.S.MeanSpend} {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	return b
}

// DecodeSample reverses EncodeSample, dropping any entry that is not a valid summary.
func DecodeSample(b []byte) ([]SampleEntry, error) {
	if len(b)%sampleEntryBytes != 0 {
		return nil, fmt.Errorf("sample of %d bytes is not whole entries", len(b))
	}
	out := make([]SampleEntry, 0, len(b)/sampleEntryBytes)
	for i := 0; i < len(b); i += sampleEntryBytes {
		f := func(k int) float64 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i+4+4*k:])))
		}
		e := SampleEntry{Hash: binary.LittleEndian.Uint32(b[i:]), S: clv.Summary{X: f(0), Tx: f(1), T: f(2), MeanSpend: f(3)}}
		if e.S.Validate() == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// ScopeSample is what pass 1 collected for one scope over all segments.
type ScopeSample struct {
	Customers int           // customers with a purchase in the scope (all of them, not only the sample)
	Entries   []SampleEntry // the lowest hashes, at most the cap asked for
	threshold uint32
}

func sampleSK(seg int, scope string) string { return fmt.Sprintf("SAMPLE#%04d#%s", seg, scope) }

// PutSample stores one segment's sample for one scope as its own item next to the
// run (RUN#id / SAMPLE#seg#scope). A redelivered segment writes the same sample again.
// full says the segment had more customers than the sample holds: its highest hash is
// then the threshold below which the sample is complete.
func (t *Table) PutSample(ctx context.Context, runID string, seg int, scope string, customers int, es []SampleEntry, full bool) error {
	threshold := uint32(math.MaxUint32)
	if full && len(es) > 0 {
		threshold = 0
		for _, e := range es {
			threshold = max(threshold, e.Hash)
		}
	}
	item := map[string]types.AttributeValue{
		"threshold": &types.AttributeValueMemberN{Value: strconv.FormatUint(uint64(threshold), 10)},
		attrPK:      &types.AttributeValueMemberS{Value: RunKey(runID).PK},
		attrSK:      &types.AttributeValueMemberS{Value: sampleSK(seg, scope)},
		"scope":     &types.AttributeValueMemberS{Value: scope},
		"customers": &types.AttributeValueMemberN{Value: strconv.Itoa(customers)},
		"n":         &types.AttributeValueMemberN{Value: strconv.Itoa(len(es))},
		"sample":    &types.AttributeValueMemberB{Value: EncodeSample(es)},
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: item,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("store sample of segment %d (%s) of run %s: %w", seg, scope, runID, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// Samples merges every segment's samples of a run per scope: the entries whose hash is
// below every full segment's threshold (so each segment contributes at the same rate),
// then at most maxPerScope of them with the lowest hashes. The result is a uniform
// sample of the scope's customers chosen by hash, the same however the table was split
// into segments and however often a segment was redelivered.
func (t *Table) Samples(ctx context.Context, runID string, maxPerScope int) (map[string]*ScopeSample, error) {
	items, err := t.queryPrefix(ctx, RunKey(runID).PK, "SAMPLE#")
	if err != nil {
		return nil, fmt.Errorf("samples of run %s: %w", runID, err)
	}
	out := map[string]*ScopeSample{}
	for _, it := range items {
		var raw struct {
			Scope     string `dynamodbav:"scope"`
			Customers int    `dynamodbav:"customers"`
			Threshold uint32 `dynamodbav:"threshold"`
			Sample    []byte `dynamodbav:"sample"`
		}
		if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		es, err := DecodeSample(raw.Sample)
		if err != nil {
			return nil, fmt.Errorf("samples of run %s: %w", runID, err)
		}
		s := out[raw.Scope]
		if s == nil {
			s = &ScopeSample{threshold: math.MaxUint32}
			out[raw.Scope] = s
		}
		s.threshold = min(s.threshold, raw.Threshold)
		s.Customers += raw.Customers
		s.Entries = append(s.Entries, es...)
	}
	for _, s := range out {
		kept := s.Entries[:0]
		for _, e := range s.Entries {
			if e.Hash <= s.threshold {
				kept = append(kept, e)
			}
		}
		s.Entries = kept
		sort.Slice(s.Entries, func(i, j int) bool { return s.Entries[i].Hash < s.Entries[j].Hash })
		if len(s.Entries) > maxPerScope {
			s.Entries = s.Entries[:maxPerScope]
		}
	}
	return out, nil
}

// --- models --------------------------------------------------------------------------

// ModelPK is the partition of one scope's customer-base models: MODEL#<ns> for the
// business, MODEL#<ns>#STORE#<store> for a store. ns is "clv" in production.
func ModelPK(ns, scope string) string {
	if scope == ScopeBusiness || scope == "" {
		return "MODEL#" + ns
	}
	return "MODEL#" + ns + "#STORE#" + scope
}

// StoredModel is one fitted model version (MODEL#… / V#<run id>); the CURRENT item holds
// a copy of the live one.
type StoredModel struct {
	Version  string    `dynamodbav:"version" json:"version"` // the run that fitted it
	Scope    string    `dynamodbav:"scope" json:"scope"`
	AsOf     time.Time `dynamodbav:"asOf" json:"asOf"`
	N        int       `dynamodbav:"n" json:"n"` // customers in the fit
	LogLik   float64   `dynamodbav:"logLik" json:"logLik"`
	Warnings []string  `dynamodbav:"warnings,omitempty" json:"warnings,omitempty"`
	Model    clv.Model `dynamodbav:"-" json:"model"`
}

// ErrNonFinite: a model with a NaN or infinite number is never stored.
var ErrNonFinite = errors.New("model has a non-finite number")

// checkFinite walks the model's JSON form: every number must be finite (encoding/json
// refuses NaN and Inf, so a marshal error says the same).
func checkFinite(m clv.Model) ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNonFinite, err)
	}
	return b, nil
}

func (m StoredModel) item(pk, sk string) (map[string]types.AttributeValue, error) {
	doc, err := checkFinite(m.Model)
	if err != nil {
		return nil, err
	}
	if math.IsNaN(m.LogLik) || math.IsInf(m.LogLik, 0) {
		return nil, fmt.Errorf("%w: log-likelihood %v", ErrNonFinite, m.LogLik)
	}
	it, err := attributevalue.MarshalMap(m)
	if err != nil {
		return nil, fmt.Errorf("marshal model: %w", err)
	}
	it[attrPK] = &types.AttributeValueMemberS{Value: pk}
	it[attrSK] = &types.AttributeValueMemberS{Value: sk}
	it["model"] = &types.AttributeValueMemberS{Value: string(doc)}
	it["asOfKey"] = &types.AttributeValueMemberS{Value: sortTime(m.AsOf)}
	return it, nil
}

// PutModel stores a fitted model as version V#<run id> and makes it CURRENT unless a
// model of a later as-of is current already. Both writes are idempotent for a run.
func (t *Table) PutModel(ctx context.Context, ns string, m StoredModel) error {
	pk := ModelPK(ns, m.Scope)
	ver, err := m.item(pk, "V#"+m.Version)
	if err != nil {
		return fmt.Errorf("model %s of %s: %w", m.Version, m.Scope, err)
	}
	out, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: ver,
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return fmt.Errorf("store model %s of %s: %w", m.Version, m.Scope, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	cur, _ := m.item(pk, "CURRENT")
	out, err = t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Name), Item: cur,
		ConditionExpression:       aws.String("attribute_not_exists(PK) OR asOfKey <= :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": cur["asOfKey"]},
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // a later night's model is current
		}
		return fmt.Errorf("make model %s of %s current: %w", m.Version, m.Scope, err)
	}
	t.Units.addOne(true, out.ConsumedCapacity)
	return nil
}

// CurrentModel reads a scope's live model; found=false when none was ever fitted.
func (t *Table) CurrentModel(ctx context.Context, ns, scope string) (StoredModel, bool, error) {
	return t.getModel(ctx, ns, scope, "CURRENT")
}

// ModelVersion reads one stored model version.
func (t *Table) ModelVersion(ctx context.Context, ns, scope, version string) (StoredModel, bool, error) {
	return t.getModel(ctx, ns, scope, "V#"+version)
}

func (t *Table) getModel(ctx context.Context, ns, scope, sk string) (StoredModel, bool, error) {
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.Name),
		Key: Key{ModelPK(ns, scope), sk}.av(), ConsistentRead: aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal})
	if err != nil {
		return StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, sk, err)
	}
	t.Units.addOne(false, out.ConsumedCapacity)
	if out.Item == nil {
		return StoredModel{}, false, nil
	}
	var m StoredModel
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, sk, err)
	}
	doc, _ := out.Item["model"].(*types.AttributeValueMemberS)
	if doc == nil {
		return StoredModel{}, false, fmt.Errorf("read model %s %s: no model document", scope, sk)
	}
	if err := json.Unmarshal([]byte(doc.Value), &m.Model); err != nil {
		return StoredModel{}, false, fmt.Errorf("read model %s %s: %w", scope, sk, err)
	}
	return m, true, nil
}

// --- at-risk report --------------------------------------------------------------------

// AtRiskRow is one customer of the at-risk report: no contact data, only what the
// model and the tier say.
type AtRiskRow struct {
	ID           string      `json:"id"`
	Tier         model.Tier  `json:"tier"`
	Stage        model.Stage `json:"stage"`
	CLV          ProfileCLV  `json:"clv"`
	ExpectedLoss model.Money `json:"expectedLoss"`
}

// StoreCLVRows reads every customer of a store that has a prediction (GSI2 `STORE#s`,
// access pattern 5), projecting only tier, stage and clv. The report sorts them itself:
// expected loss is not a key, so a store's customers are read in full (1 RRU per ~4 KB
// of profiles on the index).
func (t *Table) StoreCLVRows(ctx context.Context, store string) ([]AtRiskRow, error) {
	p := dynamodb.NewQueryPaginator(t.db, &dynamodb.QueryInput{
		TableName: aws.String(t.Name), IndexName: aws.String(IndexStore),
		KeyConditionExpression: aws.String("GSI2PK = :pk AND begins_with(GSI2SK, :t)"),
		FilterExpression:       aws.String("attribute_exists(clv)"),
		ProjectionExpression:   aws.String("PK, tier, stage, clv"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: StorePK(store)}, ":t": &types.AttributeValueMemberS{Value: "TIER#"}},
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	var rows []AtRiskRow
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("customers of store: %w", err)
		}
		t.Units.addOne(false, page.ConsumedCapacity)
		for _, it := range page.Items {
			var raw struct {
				PK    string     `dynamodbav:"PK"`
				Tier  string     `dynamodbav:"tier"`
				Stage string     `dynamodbav:"stage"`
				CLV   ProfileCLV `dynamodbav:"clv"`
			}
			if err := attributevalue.UnmarshalMap(it, &raw); err != nil {
				return nil, fmt.Errorf("customers of store: %w", err)
			}
			rows = append(rows, AtRiskRow{ID: strings.TrimPrefix(raw.PK, "CUST#"), Tier: model.Tier(raw.Tier),
				Stage: model.Stage(raw.Stage), CLV: raw.CLV, ExpectedLoss: raw.CLV.ExpectedLoss()})
		}
	}
	return rows, nil
}
