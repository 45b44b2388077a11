package secrets_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tierflow/tierflow/shared/secrets"
)

// The lean SSM call is the request the SDK would send: JSON 1.1, the GetParameters
// target, signed with SigV4 for ssm in the function's region with its session token;
// the answer is read back into the SDK's output type, and a throttled or failing
// service is retried while a refusal is not.
func TestSSMOverHTTP(t *testing.T) {
	var calls atomic.Int32
	fail := map[int32]int{} // call number -> status to answer with
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		auth := r.Header.Get("Authorization")
		if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParameters" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/ap-east-1/ssm/aws4_request") ||
			r.Header.Get("X-Amz-Security-Token") != "session-token" {
			t.Errorf("request: %s %v", r.Method, r.Header)
		}
		var in struct {
			Names          []string
			WithDecryption bool
		}
		b, err := io.ReadAll(r.Body)
		if err == nil {
			err = json.Unmarshal(b, &in)
		}
		if err != nil || !in.WithDecryption || len(in.Names) != 2 {
			t.Errorf("body %s: %v", b, err)
		}
		if st, ok := fail[n]; ok {
			w.WriteHeader(st)
			write(t, w, `{"__type":"com.amazonaws.ssm#SomeException","message":"no"}`)
			return
		}
		write(t, w, `{"Parameters":[{"Name":"/t/log","Value":"a2V5","Type":"SecureString","Version":3}],"InvalidParameters":["/t/missing"]}`)
	}))
	defer srv.Close()
	cfg := aws.Config{Region: "ap-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "session-token")}
	s := &secrets.SSM{Cfg: cfg, Endpoint: srv.URL, Now: func() time.Time { return time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC) }}
	in := []string{"/t/log", "/t/missing"}

	fail[1] = http.StatusServiceUnavailable // retried
	out, err := s.GetParameters(context.Background(), in)
	if err != nil || calls.Load() != 2 {
		t.Fatalf("after a 503: %v, %d calls", err, calls.Load())
	}
	if len(out.Values) != 1 || out.Values["/t/log"] != "a2V5" || len(out.Invalid) != 1 || out.Invalid[0] != "/t/missing" {
		t.Fatalf("answer %+v", out)
	}
	fail[3] = http.StatusBadRequest // an access refusal is final
	if _, err := s.GetParameters(context.Background(), in); err == nil || !strings.Contains(err.Error(), "SomeException") || calls.Load() != 3 {
		t.Fatalf("a 400: %v after %d calls, want the service's error after one more call", err, calls.Load())
	}
}

func write(t *testing.T, w io.Writer, s string) {
	if _, err := io.WriteString(w, s); err != nil {
		t.Error(err)
	}
}
