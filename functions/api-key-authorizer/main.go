// Command authorizer is the HTTP API's Lambda authorizer for machines: it checks the
// X-Api-Key header against the stored hashes of API keys and hands the key's stores and
// permissions to the integration (simple responses, payload 2.0). API Gateway caches its
// answer per key for the TTL in template.yaml, so a revoked key is refused within it.
package main

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/tierflow/tierflow/shared/boot"
)

func main() {
	b := boot.Init(context.Background())
	boot.Check(b.Log, "configuration", b.Env.Err())
	lambda.Start(New(b.Table, time.Now, b.Log).Handle)
}
