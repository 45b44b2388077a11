package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/tierflow/tierflow/shared/access"
	"github.com/tierflow/tierflow/shared/model"
)

// TxnMarkers reads the once-markers of a batch of transactions (one BatchGetItem per 100
// keys), with the legacy key of each: a legacy marker counts for a key only if the
// customer it names belongs to the key's store — it is then the same transaction, posted
// before keys named the store. Keys without a marker are absent.
func (t *Table) TxnMarkers(ctx context.Context, keys []model.TxnKey) (map[model.TxnKey]model.TxnMarker, error) {
	var ks []Key
	for _, k := range keys {
		ks = append(ks, TxnOnceKey(k.Store, k.Source, k.ExternalID), LegacyTxnOnceKey(k.Source, k.ExternalID))
	}
	items, err := t.batchGet(ctx, ks)
	if err != nil {
		return nil, fmt.Errorf("read transaction markers: %w", err)
	}
	out := map[model.TxnKey]model.TxnMarker{}
	legacy := map[model.TxnKey]model.TxnMarker{}
	var legacyCustomers []string
	for _, k := range keys {
		if it, ok := items[TxnOnceKey(k.Store, k.Source, k.ExternalID)]; ok {
			var m model.TxnMarker
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, fmt.Errorf("decode transaction marker: %w", err)
			}
			out[k] = m
			continue
		}
		if it, ok := items[LegacyTxnOnceKey(k.Source, k.ExternalID)]; ok {
			var m model.TxnMarker
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, fmt.Errorf("decode transaction marker: %w", err)
			}
			m.Legacy = true
			legacy[k] = m
			legacyCustomers = append(legacyCustomers, m.CustomerID)
		}
	}
	if len(legacy) == 0 {
		return out, nil
	}
	stores, err := t.CustomerStores(ctx, legacyCustomers)
	if err != nil {
		return nil, err
	}
	for k, m := range legacy {
		if st, ok := stores[m.CustomerID]; ok && st == k.Store {
			out[k] = m
		}
	}
	return out, nil
}

// TxnMarker reads one transaction's marker (TxnMarkers for one key).
func (t *Table) TxnMarker(ctx context.Context, k model.TxnKey) (model.TxnMarker, bool, error) {
	ms, err := t.TxnMarkers(ctx, []model.TxnKey{k})
	m, ok := ms[k]
	return m, ok, err
}

// TxnMarkers reads the markers of transactions of stores in the caller's scope; keys of
// other stores are left out, as if they had none (the caller is refused them anyway).
func (s *Staff) TxnMarkers(ctx context.Context, sc access.Scope, keys []model.TxnKey) (map[model.TxnKey]model.TxnMarker, error) {
	var mine []model.TxnKey
	for _, k := range keys {
		if sc.Has(k.Store) {
			mine = append(mine, k)
		}
	}
	if len(mine) == 0 {
		return map[model.TxnKey]model.TxnMarker{}, nil
	}
	return s.t.TxnMarkers(ctx, mine)
}
