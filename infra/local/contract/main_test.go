package contract

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/infra/local/stack"
	"github.com/tierflow/tierflow/infra/local/stack/stacktest"
	"github.com/tierflow/tierflow/shared/secrets"
)

// st is the stack every test of the package talks to.
var st *stack.Stack

// inboundKey is the test value the SMS provider signs inbound replies with.
const inboundKey = "contract-inbound-signing-key-not-a-secret"

func TestMain(m *testing.M) {
	// The pages answer with text/html and the app with its assets: the validator reads
	// them as text.
	for _, ct := range []string{"text/html", "application/javascript", "text/css"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
	}
	os.Exit(stacktest.MainWith(m, stacktest.Config{
		// Three leads per phone and hour, so that the fourth shows the 429 the document
		// promises; every request comes from 127.0.0.1, so the per-IP limit is lifted.
		Params:  map[string]string{"LeadRatePerIp": "1000000", "LeadRatePerPhone": "3"},
		Secrets: map[string]string{secrets.SMSInboundSecret: inboundKey},
	}, &st))
}

var client = &http.Client{Timeout: 60 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

var (
	servedOnce sync.Once
	served     []byte
	servedErr  error
)

// servedDocument is GET /v1/openapi.json of the running stack: what is tested is what
// clients read.
func servedDocument(t *testing.T) []byte {
	t.Helper()
	servedOnce.Do(func() {
		resp, err := client.Get(st.URL + "/v1/openapi.json")
		if err != nil {
			servedErr = err
			return
		}
		defer resp.Body.Close()
		served, servedErr = io.ReadAll(resp.Body)
		if servedErr == nil && (resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json")) {
			servedErr = &httpError{resp.StatusCode, string(served)}
		}
	})
	if servedErr != nil {
		t.Fatalf("GET /v1/openapi.json: %v", servedErr)
	}
	return served
}

type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return http.StatusText(e.status) + ": " + e.body }

// document loads and validates the served document (examples included).
func document(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(servedDocument(t))
	if err != nil {
		t.Fatalf("load the served document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI: %v", err)
	}
	return doc
}

// templateRoutes are the routes the running stack serves, read by the project's own
// template parser.
func templateRoutes(t *testing.T) []samtemplate.Route {
	t.Helper()
	rs := st.Template.Routes()
	if len(rs) == 0 {
		t.Fatal("template.yaml has no routes")
	}
	return rs
}

// docPath is the document's spelling of a template path: API Gateway's greedy
// {proxy+} is an ordinary {proxy} parameter in OpenAPI.
func docPath(templatePath string) string { return strings.ReplaceAll(templatePath, "+}", "}") }
