package awsx

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/logging"
)

// fakeDynamo answers every call with status and body, and X-Amz-Crc32 = crc when set.
func fakeDynamo(t *testing.T, status int, body string, crc string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		if crc != "" {
			w.Header().Set("X-Amz-Crc32", crc)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) Logf(c logging.Classification, format string, v ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, fmt.Sprintf(string(c)+": "+format, v...))
}

func client(endpoint string, log logging.Logger, configure bool) *dynamodb.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", ""), Logger: log, Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	if configure {
		Configure(&cfg)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

const conditionFailed = `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}`

func put(c *dynamodb.Client) error {
	_, err := c.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("tbl"),
		Item: map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "a"}}, ConditionExpression: aws.String("attribute_not_exists(PK)")})
	return err
}

// A normal duplicate (a refused conditional write) answered without X-Amz-Crc32, as
// DynamoDB Local answers it, logs nothing; the SDK's own check logged a warning each.
func TestADuplicateWithoutChecksumHeaderLogsNoWarning(t *testing.T) {
	url := fakeDynamo(t, 400, conditionFailed, "")
	for _, tc := range []struct {
		name      string
		configure bool
		warns     int
	}{
		{"the SDK's check warns on every duplicate", false, 1},
		{"the shared configuration does not", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &warnings{}
			err := put(client(url, w, tc.configure))
			var ccf *types.ConditionalCheckFailedException
			if !errors.As(err, &ccf) {
				t.Fatalf("err = %v, want ConditionalCheckFailedException", err)
			}
			n := 0
			for _, g := range w.got {
				if strings.Contains(g, "checksum") {
					n++
				}
			}
			if n != tc.warns {
				t.Errorf("checksum warnings = %d (%v), want %d", n, w.got, tc.warns)
			}
		})
	}
}

// Where DynamoDB sends the header, the body is still checked.
func TestAResponseThatDoesNotMatchItsChecksumIsStillReported(t *testing.T) {
	body := `{}`
	good := fmt.Sprint(crc32.ChecksumIEEE([]byte(body)))
	for _, tc := range []struct {
		name string
		crc  string
		warn bool
	}{
		{"a matching checksum passes quietly", good, false},
		{"a corrupted body is reported", "12345", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &warnings{}
			if err := put(client(fakeDynamo(t, 200, body, tc.crc), w, true)); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(strings.Join(w.got, "\n"), "did not match expected checksum")
			if got != tc.warn {
				t.Errorf("checksum reported = %v (%v), want %v", got, w.got, tc.warn)
			}
		})
	}
}
