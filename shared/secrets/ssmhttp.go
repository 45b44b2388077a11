package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// SSM is the one SSM call a cold start makes (GetParameters, decrypted), as a signed
// HTTP request. The SDK's SSM package (its schemas, types and ~150 operations) weighs
// ~0.6 MB in every bootstrap that imports it, ~3 MB where a dependency turns off the
// linker's method elimination (protobuf under the phone-number library in api and
// public-api), for this one call that every function makes (issue #13).
type SSM struct {
	Cfg aws.Config
	// Endpoint overrides https://ssm.<region>.amazonaws.com (tests; AWS_ENDPOINT_URL_SSM
	// or the configuration's BaseEndpoint otherwise).
	Endpoint string
	Now      func() time.Time
}

// NewSSM is the Getter boot.Init reads the secrets with.
func NewSSM(cfg aws.Config) *SSM { return &SSM{Cfg: cfg} }

func (s *SSM) endpoint() string {
	switch {
	case s.Endpoint != "":
		return s.Endpoint
	case os.Getenv("AWS_ENDPOINT_URL_SSM") != "":
		return os.Getenv("AWS_ENDPOINT_URL_SSM")
	case s.Cfg.BaseEndpoint != nil:
		return *s.Cfg.BaseEndpoint
	}
	return "https://ssm." + s.Cfg.Region + ".amazonaws.com"
}

// Parameters is what GetParameters answers: values by parameter name, and the names of
// parameters that do not exist.
type Parameters struct {
	Values  map[string]string
	Invalid []string
}

type ssmParameter struct{ Name, Value string }

type ssmAnswer struct {
	Parameters        []ssmParameter
	InvalidParameters []string
}

// GetParameters implements Getter: one signed POST with the SDK's signer, retried twice
// on throttling, server errors and failed connections (the SDK's standard retryer does
// the same for this call).
func (s *SSM) GetParameters(ctx context.Context, names []string) (*Parameters, error) {
	body, err := json.Marshal(struct {
		Names          []string
		WithDecryption bool
	}{names, true})
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := range 3 {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		out, retry, err := s.call(ctx, body)
		if err == nil {
			return out, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return nil, fmt.Errorf("ssm GetParameters: %w", lastErr)
}

func (s *SSM) call(ctx context.Context, body []byte) (*Parameters, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.endpoint(), "/")+"/", bytes.NewReader(body))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameters")
	if s.Cfg.Credentials == nil {
		return nil, false, fmt.Errorf("no AWS credentials configured")
	}
	creds, err := s.Cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", s.Cfg.Region, now().UTC()); err != nil {
		return nil, false, fmt.Errorf("sign: %w", err)
	}
	var client interface {
		Do(*http.Request) (*http.Response, error)
	} = http.DefaultClient
	if s.Cfg.HTTPClient != nil {
		client = s.Cfg.HTTPClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, true, err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Msg     string `json:"Message"`
		}
		if json.Unmarshal(raw, &e) != nil {
			e.Message = strings.TrimSpace(string(raw[:min(len(raw), 200)])) // not JSON: say what came
		}
		code := e.Type[strings.LastIndex(e.Type, "#")+1:]
		retry := resp.StatusCode >= 500 || strings.Contains(code, "Throttl") || resp.StatusCode == http.StatusTooManyRequests
		return nil, retry, fmt.Errorf("%s (HTTP %d): %s%s", code, resp.StatusCode, e.Message, e.Msg)
	}
	var a ssmAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, false, fmt.Errorf("answer: %w", err)
	}
	out := &Parameters{Values: map[string]string{}, Invalid: a.InvalidParameters}
	for _, p := range a.Parameters {
		out.Values[p.Name] = p.Value
	}
	return out, false, nil
}
