package emulators

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Credentials the emulators accept (they check that a request is signed, not by whom).
const (
	AccessKeyID     = "local"
	SecretAccessKey = "local"
)

func clientConfig() aws.Config {
	return aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
	}
}

// AWSConfig is an SDK configuration for the emulators: static credentials and their
// region. Endpoints are per client: use the clients below, or set BaseEndpoint.
func (e *Emulators) AWSConfig() aws.Config { return clientConfig() }

// DynamoDBClient returns a client of DynamoDB Local.
func (e *Emulators) DynamoDBClient() *dynamodb.Client {
	return dynamodb.NewFromConfig(e.AWSConfig(), func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(e.DynamoDB) })
}

// SQSClient returns a client of the SQS emulator.
func (e *Emulators) SQSClient() *sqs.Client {
	return sqs.NewFromConfig(e.AWSConfig(), func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.SQS) })
}

// SESClient returns a client of the SES v2 emulator.
func (e *Emulators) SESClient() *sesv2.Client {
	return sesv2.NewFromConfig(e.AWSConfig(), func(o *sesv2.Options) { o.BaseEndpoint = aws.String(e.SES) })
}

// Env is the environment that points an unmodified function's SDK at the emulators:
// the SDK reads AWS_ENDPOINT_URL_<SERVICE> itself, so function code sets no endpoint.
func (e *Emulators) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": e.DynamoDB,
		"AWS_ENDPOINT_URL_SQS":      e.SQS,
		"AWS_ENDPOINT_URL_SESV2":    e.SES,
		"AWS_REGION":                Region,
		"AWS_DEFAULT_REGION":        Region,
		"AWS_ACCESS_KEY_ID":         AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}
