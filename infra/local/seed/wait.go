package seed

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// WaitDrained returns once the queue at queueURL holds no message, waiting or in flight:
// every transaction posted before the call has been applied (or dead-lettered).
func WaitDrained(ctx context.Context, c *sqs.Client, queueURL string) error {
	return waitDrained(ctx, Options{SQS: c, IngestQueueURL: queueURL})
}

// WaitRun polls GET /v1/retier/{id} until the run is done or failed and returns that
// status.
func WaitRun(ctx context.Context, url, token string, hc *http.Client, id string) (string, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return waitRun(ctx, client{o: Options{URL: url, Token: token, HTTP: hc}}, id)
}
