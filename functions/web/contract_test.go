package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestTheContractIsServedAsJSONInTheDocumentsOrder(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, s, OpenAPIPath, map[string]string{"accept-encoding": "gzip"})
	if r.StatusCode != 200 || r.Headers["Content-Type"] != "application/json" || r.Headers["Cache-Control"] != cacheRevalidate {
		t.Fatalf("GET %s: %d %v", OpenAPIPath, r.StatusCode, r.Headers)
	}
	b := body(t, r)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["openapi"] != "3.1.0" || !bytes.HasPrefix(b, []byte("{\n  \"openapi\": \"3.1.0\",\n  \"info\"")) {
		t.Errorf("the JSON does not start like the YAML: %.80s", b)
	}
	paths, _ := doc["paths"].(map[string]any)
	if _, ok := paths["/v1/transactions"]; !ok || len(paths) < 20 {
		t.Errorf("paths: %d, /v1/transactions missing?", len(paths))
	}
	// An ETag the client holds answers 304.
	if r2 := get(t, s, OpenAPIPath, map[string]string{"if-none-match": r.Headers["ETag"]}); r2.StatusCode != 304 {
		t.Errorf("revalidation: %d, want 304", r2.StatusCode)
	}
}

func TestTheDocsPageShowsEveryOperationUnderAStrictPolicy(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, s, DocsPath, nil)
	if r.StatusCode != 200 || !strings.HasPrefix(r.Headers["Content-Type"], "text/html") {
		t.Fatalf("GET /docs: %d %v", r.StatusCode, r.Headers)
	}
	page := string(body(t, r))
	var doc map[string]any
	if err := json.Unmarshal(body(t, get(t, s, OpenAPIPath, nil)), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc["paths"].(map[string]any) {
		for m, op := range item.(map[string]any) {
			o, ok := op.(map[string]any)
			if !ok || m == "parameters" {
				continue
			}
			n++
			id, summary := o["operationId"].(string), o["summary"].(string)
			if !strings.Contains(page, `id="`+id+`"`) || !strings.Contains(page, html.EscapeString(summary)) || !strings.Contains(page, ">"+path+"<") {
				t.Errorf("the page lacks %s %s (%s: %q)", m, path, id, summary)
			}
		}
	}
	if n < 30 {
		t.Errorf("only %d operations in the document", n)
	}
	csp := r.Headers["Content-Security-Policy"]
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if style == nil {
		t.Fatal("no style element")
	}
	sum := sha256.Sum256([]byte(style[1]))
	if !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") || strings.Contains(csp, "unsafe") ||
		!strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not allow exactly the page's style by its hash", csp)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, "http://") && strings.Contains(page, "src=\"http") {
		t.Error("the page loads a script or a remote resource")
	}
	if dir := os.Getenv("TIERFLOW_DOCS_OUT"); dir != "" {
		if err := os.WriteFile(dir+"/docs.html", []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAContractThatIsNotOpenAPI31IsRefusedAtColdStart(t *testing.T) {
	for _, src := range []string{"openapi: 3.0.3\ninfo: {}\n", "- a list\n", "a: &x 1\nb: *x\n", "a: 1\na: 2\n"} {
		if _, err := loadContract([]byte(src)); err == nil {
			t.Errorf("%q: accepted", src)
		}
	}
}
