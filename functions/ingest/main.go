// Command ingest is a tierflow Lambda function; see template.yaml for its triggers.
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	lambda.Start(func(ctx context.Context, ev json.RawMessage) (json.RawMessage, error) {
		log.Info("invoked", "bytes", len(ev))
		return json.RawMessage(`{}`), nil
	})
}
