package access

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tierflow/tierflow/shared/auth"
	"github.com/tierflow/tierflow/shared/customer"
	"github.com/tierflow/tierflow/shared/httpx"
)

// ErrTaken: a create lost to a concurrent one (the customer number or contact exists
// now); the layer looks it up again.
var ErrTaken = errors.New("access: created meanwhile by someone else")

// Ref is a business's own customer number (POS or loyalty number) in one store.
type Ref struct{ Store, Number string }

// TxnPorts find and create the customers that posted transactions name (shared/store).
type TxnPorts interface {
	// CustomerStores reads the store of each customer that exists ("" for a customer
	// without a store); ids that do not exist are absent from the map.
	CustomerStores(ctx context.Context, ids []string) (map[string]string, error)
	// CustomersByRef finds customers by number; numbers nobody has are absent.
	CustomersByRef(ctx context.Context, refs []Ref) (map[Ref]string, error)
	// CreateByRef creates the store's customer with that number; ErrTaken if it exists.
	CreateByRef(ctx context.Context, ref Ref, at time.Time) (string, error)
	// CreateByContact creates a customer with the lead's phone/e-mail in the lead's store;
	// ErrTaken if one of the contacts belongs to someone meanwhile.
	CreateByContact(ctx context.Context, lead customer.Lead, g customer.Grading, at time.Time) (string, error)
}

// TxnCustomer is how one posted transaction names its customer: exactly one of ID, Ref,
// or Phone and/or Email (normalised). Store is the transaction's store.
type TxnCustomer struct {
	Store        string
	ID, Ref      string
	Phone, Email string
	LookupOnly   bool // the transaction is known already: find, never create
}

// TxnCustomerResult is the customer one transaction lands on, or why it does not.
type TxnCustomerResult struct {
	CustomerID string             // "" when refused, failed, or nobody (LookupOnly)
	Refused    []httpx.FieldError // fields relative to the transaction ("/customer/id")
	Err        error              // not resolvable just now: the client posts again
}

// Reasons given per item. An unknown id and another store's id read the same (C2).
const (
	reasonUnknownID     = "no customer with this id in the stores your token covers"
	reasonOtherStore    = "is a customer of another store than the transaction's"
	reasonHiddenContact = "belongs to a customer of a store your token does not cover; the transaction was not attached to them"
	reasonRefMoved      = "belongs to a customer who has moved to another store"
)

// AuditTxnRefused is the audit action written on a customer whose phone or e-mail a
// transaction of a store that cannot see them named.
const AuditTxnRefused = "transaction-refused"

// createWorkers bounds concurrent customer creation within one request.
const createWorkers = 8

// TxnCustomers resolves the customers of a batch of transactions for p (contract C2):
//   - an ID must be an existing customer p may see, of the transaction's store (or of
//     none); an unknown id never creates anyone;
//   - a Ref finds that store's customer with this number, or creates them;
//   - a phone/e-mail finds p's customer of the transaction's store, or creates one in
//     it; a contact of a customer p may not see is refused and the attempt is written
//     to that customer's audit log.
//
// Lookups are batched: one read for the numbers, one for the customers' stores.
func (l *Layer) TxnCustomers(ctx context.Context, p auth.Principal, items []TxnCustomer, req Request) []TxnCustomerResult {
	out := make([]TxnCustomerResult, len(items))
	if err := Require(p, PostTransactions); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if l.p.Txn == nil {
		for i := range out {
			out[i].Err = fmt.Errorf("resolve transaction customers: no ports")
		}
		return out
	}
	r := txnResolver{l: l, p: p, req: req, byRef: map[Ref]string{}, byContact: map[string]contactHit{}, stores: map[string]string{}}
	if err := r.lookup(ctx, items); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	r.create(ctx, items)
	for i, it := range items {
		out[i] = r.decide(ctx, it)
	}
	return out
}

type contactHit struct {
	id    string
	field string // "phone" or "email": which contact matched
}

type txnResolver struct {
	l         *Layer
	p         auth.Principal
	req       Request
	mu        sync.Mutex
	byRef     map[Ref]string        // number → customer id (found or created)
	byContact map[string]contactHit // contact key → owner
	stores    map[string]string     // customer id → store, for ids that exist
	exists    map[string]bool
	failed    map[string]error // key → why it could not be created
}

func contactKey(phone, email string) string { return phone + "\x00" + email }

// lookup reads every number and contact once, then the stores of every id met.
func (r *txnResolver) lookup(ctx context.Context, items []TxnCustomer) error {
	var refs []Ref
	seenRef := map[Ref]bool{}
	for _, it := range items {
		if it.Ref != "" && !seenRef[Ref{it.Store, it.Ref}] {
			seenRef[Ref{it.Store, it.Ref}] = true
			refs = append(refs, Ref{it.Store, it.Ref})
		}
	}
	if len(refs) > 0 {
		found, err := r.l.p.Txn.CustomersByRef(ctx, refs)
		if err != nil {
			return fmt.Errorf("look up customer numbers: %w", err)
		}
		for k, id := range found {
			r.byRef[k] = id
		}
	}
	for _, it := range items {
		if it.Phone == "" && it.Email == "" {
			continue
		}
		k := contactKey(it.Phone, it.Email)
		if _, done := r.byContact[k]; done {
			continue
		}
		hit, err := r.findContact(ctx, it.Phone, it.Email)
		if err != nil {
			return err
		}
		r.byContact[k] = hit
	}
	return r.loadStores(ctx, items)
}

func (r *txnResolver) findContact(ctx context.Context, phone, email string) (contactHit, error) {
	for _, c := range []struct{ field, phone, email string }{{"phone", phone, ""}, {"email", "", email}} {
		if c.phone == "" && c.email == "" {
			continue
		}
		id, found, err := r.l.p.Customers.CustomerByContact(ctx, c.phone, c.email)
		if err != nil {
			return contactHit{}, fmt.Errorf("look up customer by %s: %w", c.field, err)
		}
		if found {
			return contactHit{id: id, field: c.field}, nil
		}
	}
	return contactHit{}, nil
}

// loadStores reads the store of every customer id met so far that is not known yet.
func (r *txnResolver) loadStores(ctx context.Context, items []TxnCustomer) error {
	if r.exists == nil {
		r.exists = map[string]bool{}
	}
	var ids []string
	add := func(id string) {
		if id != "" && ValidID(id) && !r.exists[id] && !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, it := range items {
		add(it.ID)
	}
	for _, id := range r.byRef {
		add(id)
	}
	for _, h := range r.byContact {
		add(h.id)
	}
	if len(ids) == 0 {
		return nil
	}
	st, err := r.l.p.Txn.CustomerStores(ctx, ids)
	if err != nil {
		return fmt.Errorf("read customers' stores: %w", err)
	}
	for id, s := range st {
		r.exists[id], r.stores[id] = true, s
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// create makes the customers that numbers and contacts name and nobody has yet, each
// once however many transactions name them, a few at a time.
func (r *txnResolver) create(ctx context.Context, items []TxnCustomer) {
	type job struct {
		ref     *Ref
		contact *TxnCustomer
	}
	var jobs []job
	queued := map[string]bool{}
	for i := range items {
		it := items[i]
		if it.LookupOnly || !r.p.CanSeeStore(it.Store) {
			continue
		}
		switch {
		case it.ID != "":
		case it.Ref != "":
			k := Ref{it.Store, it.Ref}
			if _, ok := r.byRef[k]; !ok && !queued["r"+k.Store+"\x00"+k.Number] {
				queued["r"+k.Store+"\x00"+k.Number] = true
				jobs = append(jobs, job{ref: &k})
			}
		case it.Phone != "" || it.Email != "":
			// A contact naming a customer without a profile is a creation in flight or
			// one that died: creating settles which (the store releases a dead claim).
			k := contactKey(it.Phone, it.Email)
			if h := r.byContact[k]; (h.id == "" || !r.exists[h.id]) && !queued["c"+k] {
				queued["c"+k] = true
				jobs = append(jobs, job{contact: &items[i]})
			}
		}
	}
	if len(jobs) == 0 {
		return
	}
	r.failed = map[string]error{}
	now := r.l.now()
	sem := make(chan struct{}, createWorkers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if j.ref != nil {
				r.createRef(ctx, *j.ref, now)
			} else {
				r.createContact(ctx, *j.contact, now)
			}
		}()
	}
	wg.Wait()
}

func (r *txnResolver) createRef(ctx context.Context, k Ref, now time.Time) {
	id, err := r.l.p.Txn.CreateByRef(ctx, k, now)
	if errors.Is(err, ErrTaken) {
		var found map[Ref]string
		if found, err = r.l.p.Txn.CustomersByRef(ctx, []Ref{k}); err == nil {
			id = found[k]
			err = r.storeOf(ctx, id)
		}
	} else if err == nil {
		r.mu.Lock()
		r.exists[id], r.stores[id] = true, k.Store
		r.mu.Unlock()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || id == "" {
		r.failed["r"+k.Store+"\x00"+k.Number] = fmt.Errorf("create customer by number: %w", errOr(err))
		return
	}
	r.byRef[k] = id
}

func (r *txnResolver) createContact(ctx context.Context, it TxnCustomer, now time.Time) {
	lead := customer.Lead{Phone: it.Phone, Email: it.Email, Store: it.Store, Submission: customer.Submission{At: now, Channel: "api"}}
	id, err := r.l.p.Txn.CreateByContact(ctx, lead, customer.DefaultGradePolicy().Grade(lead), now)
	hit := contactHit{id: id}
	if errors.Is(err, ErrTaken) {
		// Someone took the contact meanwhile: whoever it is now decides, as if found first.
		if hit, err = r.findContact(ctx, it.Phone, it.Email); err == nil {
			err = r.storeOf(ctx, hit.id)
		}
	} else if err == nil {
		r.mu.Lock()
		r.exists[id], r.stores[id] = true, it.Store
		r.mu.Unlock()
	}
	k := contactKey(it.Phone, it.Email)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || hit.id == "" {
		r.failed["c"+k] = fmt.Errorf("create customer by contact: %w", errOr(err))
		return
	}
	r.byContact[k] = hit
}

func errOr(err error) error {
	if err == nil {
		return errors.New("nobody found or created")
	}
	return err
}

func (r *txnResolver) storeOf(ctx context.Context, id string) error {
	if id == "" {
		return nil
	}
	st, err := r.l.p.Txn.CustomerStores(ctx, []string{id})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := st[id]; ok {
		r.exists[id], r.stores[id] = true, s
	}
	return nil
}

// decide applies C2 to one transaction once every lookup and create is done.
func (r *txnResolver) decide(ctx context.Context, it TxnCustomer) TxnCustomerResult {
	refuse := func(field, reason string) TxnCustomerResult {
		return TxnCustomerResult{Refused: []httpx.FieldError{{Field: field, Reason: reason}}}
	}
	if !r.p.CanSeeStore(it.Store) {
		return refuse("/store", "not one of the stores your token covers")
	}
	// sameStore: the customer may carry the transaction (ingest checks the same).
	sameStore := func(id string) bool { s := r.stores[id]; return s == "" || s == it.Store }
	switch {
	case it.ID != "":
		if !ValidID(it.ID) || !r.exists[it.ID] || !r.p.CanSeeStore(r.stores[it.ID]) {
			return refuse("/customer/id", reasonUnknownID)
		}
		if !sameStore(it.ID) {
			return refuse("/customer/id", reasonOtherStore)
		}
		return TxnCustomerResult{CustomerID: it.ID}
	case it.Ref != "":
		k := Ref{it.Store, it.Ref}
		id, ok := r.byRef[k]
		if !ok {
			if err := r.failed["r"+k.Store+"\x00"+k.Number]; err != nil {
				return TxnCustomerResult{Err: err}
			}
			return TxnCustomerResult{} // LookupOnly and nobody has the number
		}
		if !r.exists[id] {
			return TxnCustomerResult{Err: fmt.Errorf("customer %s of a number has no profile", id)}
		}
		if r.stores[id] != it.Store {
			return refuse("/customer/ref", reasonRefMoved)
		}
		return TxnCustomerResult{CustomerID: id}
	default:
		k := contactKey(it.Phone, it.Email)
		hit := r.byContact[k]
		if hit.id == "" {
			if err := r.failed["c"+k]; err != nil {
				return TxnCustomerResult{Err: err}
			}
			return TxnCustomerResult{}
		}
		if !r.exists[hit.id] {
			return TxnCustomerResult{Err: fmt.Errorf("customer %s of a contact has no profile", hit.id)}
		}
		if !r.p.CanSeeStore(r.stores[hit.id]) {
			// Never attached; the owner's log says who tried, and with what.
			if err := r.l.RecordAttempt(ctx, r.p, hit.id, AuditTxnRefused, []string{hit.field}, r.req); err != nil {
				return TxnCustomerResult{Err: fmt.Errorf("audit refused transaction: %w", err)}
			}
			return refuse("/customer", reasonHiddenContact)
		}
		if !sameStore(hit.id) {
			return refuse("/customer", reasonOtherStore)
		}
		return TxnCustomerResult{CustomerID: hit.id}
	}
}
