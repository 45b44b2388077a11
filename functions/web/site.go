package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Prefix is where API Gateway routes the app (GET /app and /app/{proxy+}).
const Prefix = "/app"

// maxResponse keeps every answer under Lambda's 6 MB synchronous response limit once
// base64-encoded, with room for headers.
const maxResponse = 4 << 20

// CSP allows nothing remote and no inline script: the bundle's own script and style,
// API calls to the same origin (the staff API), and nothing else. ECharts draws on a
// canvas and sets element styles through the CSSOM, which style-src does not govern.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders go on every answer, the index and the assets alike.
var securityHeaders = map[string]string{
	"Content-Security-Policy":      CSP,
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"Permissions-Policy":           "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
	"Strict-Transport-Security":    "max-age=31536000; includeSubDomains",
}

// Cache policies: a file whose name carries its content hash never changes, so browsers
// keep it a year; index.html names the current hashes and is revalidated on every load.
const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
)

// hashedName matches the bundler's output names, e.g. assets/app-5KQ2XJ3M.js.
var hashedName = regexp.MustCompile(`^assets/[A-Za-z0-9_.-]+-[A-Z0-9]{8}\.[a-z0-9]+$`)

// assetRef finds the files index.html loads (src="/app/assets/…", href="/app/assets/…").
var assetRef = regexp.MustCompile(`(?:src|href)="` + Prefix + `/(assets/[^"]+)"`)

type asset struct {
	body      []byte
	gz        []byte // gzip of body; nil when it would not be smaller
	ctype     string
	etag      string
	immutable bool
	csp       string // this answer's Content-Security-Policy, when not the app's
}

// site is the app bundle, read and compressed once at cold start.
type site struct {
	files map[string]*asset // by path below /app/, e.g. "assets/app-5KQ2XJ3M.js"
	index *asset
	// The published contract (contract.go): GET /v1/openapi.json and GET /docs.
	openapi, docs *asset
}

// ErrNotBuilt is returned for a binary built without the app bundle.
var ErrNotBuilt = errors.New("the staff app is not built into this binary (functions/web/dist has no index.html): run make web, then build the function")

// newSite reads every file of the bundle. It fails when there is no index.html, when
// index.html loads a file the bundle lacks, or when a file is too large to answer.
func newSite(fsys fs.FS) (*site, error) {
	s := &site{files: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != "." {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil // .gitkeep: keeps the folder in git, never served
		}
		if d.IsDir() {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		a, err := newAsset(p, body)
		if err != nil {
			return err
		}
		s.files[p] = a
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the app bundle: %w", err)
	}
	idx, ok := s.files["index.html"]
	if !ok {
		return nil, ErrNotBuilt
	}
	idx.immutable = false
	s.index = idx
	refs := assetRef.FindAllSubmatch(idx.body, -1)
	if len(refs) == 0 {
		return nil, fmt.Errorf("index.html loads no script or style from %s/assets/: not a bundle of the staff app", Prefix)
	}
	for _, m := range refs {
		if _, ok := s.files[string(m[1])]; !ok {
			return nil, fmt.Errorf("index.html loads %s/%s, which the bundle does not contain: rebuild with make web", Prefix, m[1])
		}
	}
	c, err := loadContract(openapiYAML)
	if err != nil {
		return nil, err
	}
	if s.openapi, err = newAsset("openapi.json", c.json); err != nil {
		return nil, err
	}
	page, err := c.renderDocs()
	if err != nil {
		return nil, err
	}
	if s.docs, err = newAsset("docs.html", page); err != nil {
		return nil, err
	}
	s.docs.csp = docsCSP()
	return s, nil
}

func newAsset(p string, body []byte) (*asset, error) {
	if base64.StdEncoding.EncodedLen(len(body)) > maxResponse {
		return nil, fmt.Errorf("%s is %d bytes: too large for a Lambda response", p, len(body))
	}
	ctype := mime.TypeByExtension(path.Ext(p))
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, immutable: hashedName.MatchString(p)}
	if compressible(ctype) && len(body) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("compress %s: %w", p, err)
		}
		if buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
	}
	return a, nil
}

func compressible(ctype string) bool {
	mt, _, _ := mime.ParseMediaType(ctype)
	return strings.HasPrefix(mt, "text/") || mt == "application/javascript" || mt == "application/json" ||
		mt == "image/svg+xml" || mt == "application/manifest+json"
}

// serve answers GET /v1/openapi.json and GET /docs (the contract), and GET /app and
// GET /app/{proxy+}: a file of the bundle, or index.html for
// any other path (the app's own routes, e.g. /app/customers/c1), so a reload or a shared
// link opens the right page. A missing file under assets/ is a 404, never the index.
func (s *site) serve(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	method := req.RequestContext.HTTP.Method
	if method != http.MethodGet && method != http.MethodHead && method != "" {
		return s.plain(http.StatusMethodNotAllowed, "method not allowed"), nil
	}
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	switch p {
	case OpenAPIPath:
		return s.file(s.openapi, req.Headers), nil
	case DocsPath:
		return s.file(s.docs, req.Headers), nil
	}
	if p == Prefix {
		resp := s.plain(http.StatusPermanentRedirect, "")
		resp.Headers["Location"] = Prefix + "/"
		return resp, nil
	}
	rel, ok := strings.CutPrefix(p, Prefix+"/")
	if !ok {
		return s.plain(http.StatusNotFound, "not found"), nil
	}
	a, found := s.files[rel]
	switch {
	case found:
	case strings.HasPrefix(rel, "assets/") || path.Ext(rel) != "":
		return s.plain(http.StatusNotFound, "not found"), nil
	default:
		a = s.index
	}
	return s.file(a, req.Headers), nil
}

func (s *site) file(a *asset, reqHeaders map[string]string) events.APIGatewayV2HTTPResponse {
	h := headers()
	if a.csp != "" {
		h["Content-Security-Policy"] = a.csp
	}
	h["Content-Type"] = a.ctype
	h["ETag"] = a.etag
	h["Cache-Control"] = cacheRevalidate
	if a.immutable {
		h["Cache-Control"] = cacheImmutable
	}
	if a.gz != nil {
		h["Vary"] = "Accept-Encoding"
	}
	if etagMatches(header(reqHeaders, "if-none-match"), a.etag) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNotModified, Headers: h}
	}
	body := a.body
	if a.gz != nil && acceptsGzip(header(reqHeaders, "accept-encoding")) {
		body = a.gz
		h["Content-Encoding"] = "gzip"
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: h,
		Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true}
}

func (s *site) plain(status int, msg string) events.APIGatewayV2HTTPResponse {
	h := headers()
	h["Content-Type"] = "text/plain; charset=utf-8"
	h["Cache-Control"] = "no-store"
	return events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: h, Body: msg}
}

func headers() map[string]string {
	h := make(map[string]string, len(securityHeaders)+5)
	for k, v := range securityHeaders {
		h[k] = v
	}
	return h
}

// header reads a request header; API Gateway's payload 2.0 lower-cases their names.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func etagMatches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
