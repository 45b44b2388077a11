package store

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tierflow/tierflow/shared/model"
	"github.com/tierflow/tierflow/shared/tiering/app"
)

// Every key of the single table is built in this file; docs/data-model.md lists the items
// and the access patterns that read them.

// Key attribute names of the single table and its indexes (template.yaml).
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrGSI2PK = "GSI2PK"
	attrGSI2SK = "GSI2SK"
	attrGSI3PK = "GSI3PK"
	attrGSI3SK = "GSI3SK"
	attrGSI4PK = "GSI4PK"
	attrGSI4SK = "GSI4SK"
	attrTTL    = "expiresAt"

	IndexDue       = "GSI1" // due reminders and open tasks, sparse
	IndexStore     = "GSI2" // tasks by store
	IndexAssignee  = "GSI3" // tasks by assignee
	IndexCustomers = "GSI4" // customers by store: keys and what lists filter on (customersProjection)
)

// keyAttrs are every key attribute of the table and its indexes: all a page cursor may
// name.
var keyAttrs = []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK, attrGSI2PK, attrGSI2SK, attrGSI3PK, attrGSI3SK, attrGSI4PK, attrGSI4SK}

// Item types (the "type" attribute), so a reader can tell what it reads without parsing
// keys.
const (
	typeCustomer      = "customer"
	typeTouch         = "touch"
	typeUnique        = "unique"
	typeSensitive     = "sensitive"
	typeAudit         = "audit"
	typeReminder      = "reminder"
	typeReminderIndex = "reminderIndex"
	typeCounter       = "counter"
	typeAlert         = "alert"
	typeStaff         = "staff"
	typeFeedback      = "feedback"
	typeConsentToken  = "consentToken"
	typeAPIKey        = "apiKey"
)

// Sort-key prefixes of the items in a customer's partition (CUST#<id>): the timeline is
// one Query of it.
const (
	prefixTouch    = "TOUCH#"
	prefixTxn      = "TXN#"
	prefixTier     = "TIER#"
	prefixReminder = "REM#"
	prefixFeedback = "FEEDBACK#"
)

// Key is a primary key.
type Key struct{ PK, SK string }

// av renders a key as an item key.
func (k Key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// sortTime renders times so that lexical order is time order.
func sortTime(t time.Time) string { return t.UTC().Format(sortTimeLayout) }

const sortTimeLayout = "2006-01-02T15:04:05.000Z"

// DueShards spreads "what is due" over several partitions so that the sweep's query
// never concentrates on one hot key; the sweep queries every shard.
const DueShards = 4

// A customer's items (touches, transactions, tier history, reminder pointers) share one
// partition, CUST#<id>, so that a timeline is one Query of it.
func CustomerPK(id string) string { return "CUST#" + id }

// CustomerKey is the profile itself. Profiles live apart from their customer's items, in
// ProfileShards partitions of profiles only: the nightly run and the calendar read every
// profile with one Query per shard, paying for profiles and nothing else (issue #13),
// where a scan of the table paid for every transaction, touch and history item too.
func CustomerKey(id string) Key { return Key{ProfilesPK(ProfileShard(id)), skProfilePrefix + id} }

// ProfileShards is how many partitions hold the profiles. A write of one profile goes to
// one of them, so no partition key takes more than 1/ProfileShards of ingest's writes;
// the night's segments divide the shards between them (ProfileShardsOf).
const ProfileShards = 32

// ProfilesPK is one shard's partition of profiles.
func ProfilesPK(shard int) string { return fmt.Sprintf("PROFILES#%02d", shard) }

// ProfileShard places a customer's profile.
func ProfileShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % ProfileShards)
}

// ProfileShardsOf are the shards segment seg of total reads: every total-th shard.
func ProfileShardsOf(seg, total int) []int {
	var out []int
	for s := seg; s < ProfileShards && total > 0; s += total {
		out = append(out, s)
	}
	return out
}

const skProfilePrefix = "PROFILE#"

// Uniqueness items map a phone, e-mail, referral code, unsubscribe token or customer
// number to its one customer.
func PhoneKey(e164 string) Key        { return uniqueKey("PHONE#" + e164) }
func EmailKey(email string) Key       { return uniqueKey("EMAIL#" + strings.ToLower(email)) }
func ReferralKey(code string) Key     { return uniqueKey("REF#" + strings.ToUpper(code)) }
func UnsubscribeKey(token string) Key { return uniqueKey("UNSUB#" + token) }
func uniqueKey(pk string) Key         { return Key{pk, "UNIQUE"} }

// APIKeyKey is a machine's API key; APIKeyHashKey the item its secret's hash finds.
func APIKeyKey(id string) Key       { return Key{apiKeysPK, "KEY#" + id} }
func APIKeyHashKey(hash string) Key { return uniqueKey("APIKEYHASH#" + hash) }

const apiKeysPK = "APIKEYS"

// CustomerRefKey makes a business's own customer number (POS / loyalty number) unique
// per store: the same number in two stores is two customers.
func CustomerRefKey(store, number string) Key { return uniqueKey("CREF#" + store + "#" + number) }
func TouchSK(at time.Time, id string) string  { return prefixTouch + sortTime(at) + "#" + id }
func TierSK(at time.Time) string              { return prefixTier + sortTime(at) }
func TxnSK(at time.Time, src, ext string) string {
	return prefixTxn + sortTime(at) + "#" + src + "#" + ext
}

// TxnOnceKey makes (store, source system, external id) unique: the ingest transaction
// writes it with attribute_not_exists, so a redelivered or replayed transaction counts
// once — per store, so that one store's ids never block another's.
func TxnOnceKey(store, source, externalID string) Key {
	return Key{"TXNID#" + store + "#" + source + "#" + externalID, "ONCE"}
}

// LegacyTxnOnceKey is the once-key written before it named the store (source, external
// id): still read, so a transaction applied then is not applied again (docs/data-model.md).
// Source and external id never contain '#', so the two key forms cannot collide.
func LegacyTxnOnceKey(source, externalID string) Key {
	return Key{"TXNID#" + source + "#" + externalID, "ONCE"}
}

// ReminderSK is the pointer in the customer's partition to one of their reminders
// (messages and staff tasks), which live under their own id (ReminderKey).
func ReminderSK(id string) string { return prefixReminder + id }

// ReminderKey is the primary key of a reminder or task: the dispatcher and the task API
// know only the id, so reading one is one GetItem.
func ReminderKey(id string) Key { return Key{"REM#" + id, "REM"} }

// ReminderIndexKey is the customer-partition pointer to a reminder.
func ReminderIndexKey(customerID, id string) Key { return Key{CustomerPK(customerID), ReminderSK(id)} }

// DueShard spreads reminder ids over the DueShards partitions of GSI1.
func DueShard(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % DueShards)
}

// DuePK / DueSK place a pending reminder on the sparse due index.
func DuePK(shard int) string                { return fmt.Sprintf("DUE#%d", shard) }
func DueSK(due time.Time, id string) string { return sortTime(due) + "#" + id }

// StorePK / StoreCustomerSK place a profile on the customers-by-store index (GSI4). The
// sort key is the id alone: a tier or stage move then updates the index entry in place
// (1 write unit) instead of moving it (a delete and a put, 2), and a list filters on the
// projected tier and stage (customersProjection).
func StorePK(store string) string      { return "STORE#" + store }
func StoreCustomerSK(id string) string { return "C#" + id }

// Tasks by assignee (GSI3) and by store (GSI2, overloaded).
func AssigneePK(staff string) string  { return "ASSIGNEE#" + staff }
func StoreTaskPK(store string) string { return "STORETASK#" + store }
func TaskSK(status string, deadline time.Time, id string) string {
	return status + "#" + sortTime(deadline) + "#" + id
}

// Audit entries are append-only, one partition per customer.
func AuditPK(customerID string) string              { return "AUDIT#" + customerID }
func AuditSK(at time.Time, requestID string) string { return sortTime(at) + "#" + requestID }

// Policies are versioned documents; CURRENT points at the live version.
func PolicyVersionKey(kind string, version int) Key {
	return Key{"POLICY#" + kind, fmt.Sprintf("V#%06d", version)}
}
func PolicyCurrentKey(kind string) Key { return Key{"POLICY#" + kind, "CURRENT"} }

// Re-tier runs: one header item and one item per scan segment.
func RunKey(id string) Key                 { return Key{"RUN#" + id, "RUN"} }
func RunSegmentKey(id string, seg int) Key { return Key{"RUN#" + id, fmt.Sprintf("SEG#%04d", seg)} }

// A finished run keeps each store's summary (reports answer a store's staff from it);
// while it runs, each segment leaves its share per store (SSUM#, expiring).
func RunStoreKey(id, store string) Key { return Key{"RUN#" + id, "STORE#" + store} }
func RunStorePartKey(id, store string, seg, chunk int) Key {
	return Key{"RUN#" + id, fmt.Sprintf("SSUM#%s#%04d#%03d", store, seg, chunk)}
}

// Idempotency keys and rate-limit windows expire through TTL.
func IdempotencyKey(scope, key string) Key { return Key{"IDEM#" + scope + "#" + key, "IDEM"} }
func RateKey(scope, subject string, window time.Time) Key {
	return Key{"RATE#" + scope + "#" + subject, sortTime(window)}
}

// CounterKey is an atomic counter (frequency-cap windows, round-robin, the calendar's
// day marker).
func CounterKey(key string) Key { return Key{"CTR#" + key, "CTR"} }

// TallyKey is one store's counts of one report for one day or month ("2026-12-03",
// "2026-12"): the period's partition holds every store, so a report over all stores is
// one Query per period.
func TallyKey(report, period, store string) Key { return Key{"TALLY#" + report + "#" + period, store} }

// StaffKey is one staff member's directory item; StaffPK is a store's directory.
func StaffKey(store string, role model.Role, sub string) Key {
	return Key{StaffPK(store), string(role) + "#" + sub}
}
func StaffPK(store string) string { return "STAFF#" + store }

// AlertKey is one escalation alert in a store's inbox.
func AlertKey(store string, at time.Time, taskID string) Key {
	return Key{"ALERT#" + store, sortTime(at) + "#" + taskID}
}

// FeedbackSK is one survey answer on the customer's timeline; ref makes it once-only.
func FeedbackSK(ref string) string { return prefixFeedback + ref }

// SensitiveKey is the item of a customer's sealed clinical section. It lives apart from
// the profile so that no profile read, list or index ever carries it, even encrypted.
func SensitiveKey(customerID string) Key { return Key{CustomerPK(customerID), "SENSITIVE"} }

// TouchRef names a touch within its customer's partition (TouchSK without its prefix): a
// consent_requested reminder carries it, so its confirmation finds what the form asked.
func TouchRef(at time.Time, id string) string { return sortTime(at) + "#" + id }

// TouchKey is the key of the touch a TouchRef names.
func TouchKey(customerID, ref string) Key { return Key{CustomerPK(customerID), prefixTouch + ref} }

// ConsentTokenKey is a double opt-in link, keyed by the SHA-256 (hex) of its token: the
// token itself is stored nowhere, only sent.
func ConsentTokenKey(tokenHash string) Key { return Key{"CONSENT#" + tokenHash, "TOKEN"} }

// --- tiering: transactions, runs, models, policies (tier-app) -----------------------

// put sets the key attributes of an item.
func (k Key) put(item map[string]types.AttributeValue) {
	item[attrPK] = &types.AttributeValueMemberS{Value: k.PK}
	item[attrSK] = &types.AttributeValueMemberS{Value: k.SK}
}

// Sort-key prefixes the tiering items are queried by.
const (
	txnSKPrefix        = "TXN#"    // a customer's transactions (TxnSK)
	tierSKPrefix       = "TIER#"   // a customer's tier history (TierSK)
	runSegmentPrefix   = "SEG#"    // a run's segment results (RunSegmentKey)
	runSamplePrefix    = "SAMPLE#" // a run's model samples (RunSampleKey)
	runStorePartPrefix = "SSUM#"   // a running run's per-store shares (RunStorePartKey)
	runStorePrefix     = "STORE#"  // a finished run's per-store summaries (RunStoreKey)
	versionPrefix      = "V#"      // a policy's or a model's stored versions
)

// runSegmentOf is the segment number of a RunSegmentKey's sort key.
func runSegmentOf(sk string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(sk, runSegmentPrefix))
	return n, err == nil && strings.HasPrefix(sk, runSegmentPrefix)
}

// runStoreOf is the store of a RunStoreKey's sort key.
func runStoreOf(sk string) string { return strings.TrimPrefix(sk, runStorePrefix) }

// runSampleSegmentOf is the segment number of a RunSampleKey's sort key.
func runSampleSegmentOf(sk string) int {
	n, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(sk, runSamplePrefix), "#", 2)[0])
	return n
}

// LatestRunKey points at the last finished run, for reports.
func LatestRunKey() Key { return Key{"RUN#latest", "LATEST"} }

// RunSampleKey is one segment's customer-base model sample of one scope, next to the run.
func RunSampleKey(id string, seg int, scope string) Key {
	return Key{"RUN#" + id, fmt.Sprintf("%s%04d#%s", runSamplePrefix, seg, scope)}
}

// ModelPK is the partition of one scope's customer-base models: MODEL#<ns> for the
// business, MODEL#<ns>#STORE#<store> for a store. ns is "clv" in production.
func ModelPK(ns, scope string) string {
	if scope == app.ScopeBusiness || scope == "" {
		return "MODEL#" + ns
	}
	return "MODEL#" + ns + "#STORE#" + scope
}

// ModelVersionKey is one fitted version (V#<run id>); ModelCurrentKey holds a copy of the
// live one.
func ModelVersionKey(ns, scope, version string) Key {
	return Key{ModelPK(ns, scope), versionPrefix + version}
}
func ModelCurrentKey(ns, scope string) Key { return Key{ModelPK(ns, scope), "CURRENT"} }

// ReferralLineKey is one referee's line of the referral ledger. Every line lives in one
// partition, ordered by store, referrer and referee, so a store's ledger (or all of it)
// is one Query: only purchases of referred customers write it.
func ReferralLineKey(store, referrerID, refereeID string) Key {
	return Key{referralPK, store + "#" + referrerID + "#" + refereeID}
}

const referralPK = "REFERRALS"
