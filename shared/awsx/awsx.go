// Package awsx builds the AWS SDK configuration every function shares. Endpoints are
// never set in code: in AWS the SDK resolves them, and the local runtime points the same
// calls at the emulators through AWS_ENDPOINT_URL_<SERVICE>, which the SDK reads natively.
package awsx

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Load returns the shared SDK configuration, with adaptive retries so that a throttled
// table slows a burst down instead of failing it.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 5 })
		}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	return cfg, nil
}
