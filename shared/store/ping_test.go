package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/tierflow/tierflow/shared/store"
	"github.com/tierflow/tierflow/shared/store/storetest"
)

// The health check's question: the table answers, a table that does not exist is an
// error whose AWS code the public health route reports.
func TestPingAnswersForTheTableOnly(t *testing.T) {
	ctx := context.Background()
	if err := storetest.Table(t).Ping(ctx); err != nil {
		t.Fatalf("ping the test table: %v", err)
	}
	err := store.New(storetest.Emulators(t).DynamoDBClient(), "no-such-table-"+storetest.Suffix()).Ping(ctx)
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ResourceNotFoundException" {
		t.Fatalf("ping a missing table: %v, want ResourceNotFoundException", err)
	}
}
