package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"
)

const testIndex = `<!doctype html><html><head><link rel="stylesheet" href="/app/assets/app-ABCDEFGH.css">` +
	`<script type="module" src="/app/assets/app-ABCD1234.js"></script></head><body></body></html>`

func bundle() fstest.MapFS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(testIndex)},
		"assets/app-ABCD1234.js":  {Data: []byte(strings.Repeat("console.log('tierflow');\n", 100))},
		"assets/app-ABCDEFGH.css": {Data: []byte("body{margin:0}")},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		".gitkeep":                {Data: nil},
	}
}

func get(t *testing.T, s *site, path string, hdr map[string]string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Headers: hdr}
	req.RequestContext.HTTP.Method = "GET"
	resp, err := s.serve(t.Context(), req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp
}

func body(t *testing.T, r events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	if !r.IsBase64Encoded {
		return []byte(r.Body)
	}
	b, err := base64.StdEncoding.DecodeString(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Headers["Content-Encoding"] == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestABinaryWithoutTheBundleRefusesToStart(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want string
	}{
		{"a fresh clone's folder holds only .gitkeep", fstest.MapFS{".gitkeep": {}}, "not built"},
		{"index.html loads a file the bundle lacks", fstest.MapFS{"index.html": {Data: []byte(testIndex)}}, "does not contain"},
		{"an index.html that is not the app's", fstest.MapFS{"index.html": {Data: []byte("<html></html>")}}, "loads no script"},
		{"a file too large for a Lambda response", func() fstest.MapFS {
			b := bundle()
			b["assets/huge-ABCDEFGH.js"] = &fstest.MapFile{Data: make([]byte, 4<<20)}
			return b
		}(), "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newSite(tt.fs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("newSite: %v, want an error saying %q", err, tt.want)
			}
		})
	}
	if _, err := newSite(fstest.MapFS{".gitkeep": {}}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("want ErrNotBuilt, got %v", err)
	}
}

func TestTheAppIsServedWithItsCachePolicyAndSecurityHeaders(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path  string
		status      int
		cache, ctyp string
		bodyHas     string
	}{
		{"the index is revalidated on every load", "/app/", 200, "no-cache", "text/html", "app-ABCD1234.js"},
		{"a client route answers the index", "/app/customers/c-123", 200, "no-cache", "text/html", "<!doctype html>"},
		{"a hashed script is kept a year", "/app/assets/app-ABCD1234.js", 200, "public, max-age=31536000, immutable", "text/javascript", "tierflow"},
		{"a hashed style sheet is kept a year", "/app/assets/app-ABCDEFGH.css", 200, "public, max-age=31536000, immutable", "text/css", "margin"},
		{"a file without a hash is revalidated", "/app/favicon.svg", 200, "no-cache", "image/svg+xml", "<svg"},
		{"a missing asset is 404, not the index", "/app/assets/app-ZZZZZZZZ.js", 404, "no-store", "text/plain", "not found"},
		{"a missing file with an extension is 404", "/app/robots.txt", 404, "no-store", "text/plain", "not found"},
		{"the keep file is never served", "/app/.gitkeep", 404, "no-store", "text/plain", "not found"},
		{"a path outside /app is 404", "/v1/customers", 404, "no-store", "text/plain", "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, s, tt.path, nil)
			if r.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", r.StatusCode, tt.status)
			}
			if r.Headers["Cache-Control"] != tt.cache {
				t.Errorf("Cache-Control %q, want %q", r.Headers["Cache-Control"], tt.cache)
			}
			if !strings.HasPrefix(r.Headers["Content-Type"], tt.ctyp) {
				t.Errorf("Content-Type %q, want %s", r.Headers["Content-Type"], tt.ctyp)
			}
			if !bytes.Contains(body(t, r), []byte(tt.bodyHas)) {
				t.Errorf("body does not contain %q", tt.bodyHas)
			}
			for k, v := range securityHeaders {
				if r.Headers[k] != v {
					t.Errorf("%s = %q, want %q", k, r.Headers[k], v)
				}
			}
		})
	}
}

func TestTheCSPAllowsNothingRemoteAndNoInlineScript(t *testing.T) {
	directives := map[string]string{}
	for _, d := range strings.Split(CSP, ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = val
	}
	for name, want := range map[string]string{"default-src": "'none'", "script-src": "'self'", "connect-src": "'self'", "frame-ancestors": "'none'"} {
		if directives[name] != want {
			t.Errorf("%s %q, want %q", name, directives[name], want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "http:", "https:", "*"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %s: %s", bad, CSP)
		}
	}
}

func TestGzipOnlyWhenTheBrowserAcceptsIt(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ae string
		gzipped  bool
	}{
		{"a browser that accepts gzip gets it", "gzip, deflate, br", true},
		{"no Accept-Encoding gets identity", "", false},
		{"gzip refused with q=0 gets identity", "gzip;q=0, br", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, s, "/app/assets/app-ABCD1234.js", map[string]string{"accept-encoding": tt.ae})
			if got := r.Headers["Content-Encoding"] == "gzip"; got != tt.gzipped {
				t.Fatalf("gzipped=%v, want %v", got, tt.gzipped)
			}
			if !bytes.HasPrefix(body(t, r), []byte("console.log")) {
				t.Fatal("body does not decode to the file")
			}
		})
	}
}

func TestARevalidatedIndexThatDidNotChangeIs304(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	first := get(t, s, "/app/", nil)
	again := get(t, s, "/app/tasks", map[string]string{"if-none-match": first.Headers["ETag"]})
	if again.StatusCode != 304 || again.Body != "" {
		t.Fatalf("status %d body %q, want 304 and no body", again.StatusCode, again.Body)
	}
}

func TestTheBarePrefixRedirectsToTheApp(t *testing.T) {
	s, err := newSite(bundle())
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, s, "/app", nil)
	if r.StatusCode != 308 || r.Headers["Location"] != "/app/" {
		t.Fatalf("GET /app: %d %v", r.StatusCode, r.Headers)
	}
	req := events.APIGatewayV2HTTPRequest{RawPath: "/app/"}
	req.RequestContext.HTTP.Method = "POST"
	if resp, err := s.serve(t.Context(), req); err != nil || resp.StatusCode != 405 {
		t.Fatalf("POST /app/: %d %v, want 405", resp.StatusCode, err)
	}
}
