package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/tierflow/tierflow/infra/local/lambdart"
)

// ErrUnknown is returned (wrapped) by Admin callbacks for a function or schedule the
// template does not have; the admin API answers 404.
var ErrUnknown = errors.New("not in the template")

// KeyHeader carries the admin key on every /_local request that changes something or
// mints a token.
const KeyHeader = "X-Tierflow-Local-Key"

// Admin is the loopback admin API under /_local/.
//
// Any web page the developer's browser opens can send requests to 127.0.0.1: a form or a
// text/plain fetch needs no CORS preflight, and a DNS-rebound name reaches loopback with
// the page's own origin. So, besides answering loopback clients only:
//   - every request must name the gateway itself in Host (127.0.0.1:<port> or
//     localhost:<port>, the port it was accepted on), which a rebound name cannot;
//   - a request that carries an Origin other than the gateway's own is refused;
//   - every route that changes something or mints a token (invoke, fire a schedule,
//     token) requires KeyHeader with Key, a secret only the local CLI and tests read from
//     the state folder. A browser cannot add that header across origins without a
//     preflight, which this API never grants.
//
// Read-only pages meant for the developer's browser (the SMS outbox, status, the issuer's
// public keys) need no key: they change nothing, and the Host check keeps other sites
// from reading them through a rebound name.
type Admin struct {
	Invoke       func(ctx context.Context, function string, payload []byte) ([]byte, error)
	FireSchedule func(ctx context.Context, function, event string) ([]byte, error)
	Token        func(role string, stores []string, sub string) (string, error)
	JWKS         []byte
	Issuer       http.Handler // served at /_local/issuer/
	SMSOutbox    string       // JSON-lines file the dispatch function appends to
	Status       func() any
	Events       *EventCapture // the local bus; GET /_local/events lists what it received
	// Key is the secret KeyHeader must carry. With no key every keyed route is refused.
	Key string
}

// Handler returns the admin routes. Only loopback clients that name this gateway in Host
// are answered; routes that act need the key.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	keyed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !a.keyMatches(r.Header.Get(KeyHeader)) {
				w.Header().Set("Www-Authenticate", KeyHeader)
				http.Error(w, "this admin route needs the "+KeyHeader+" header with the key the local runtime wrote to .local/admin.key", http.StatusUnauthorized)
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("POST /_local/invoke/{fn}", keyed(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(io.LimitReader(r.Body, MaxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(bytes.TrimSpace(payload)) == 0 {
			payload = []byte("{}")
		}
		out, err := a.Invoke(r.Context(), r.PathValue("fn"), payload)
		writeInvokeResult(w, out, err)
	}))
	mux.HandleFunc("POST /_local/schedules/{fn}/{event}", keyed(func(w http.ResponseWriter, r *http.Request) {
		out, err := a.FireSchedule(r.Context(), r.PathValue("fn"), r.PathValue("event"))
		writeInvokeResult(w, out, err)
	}))
	mux.HandleFunc("GET /_local/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(a.JWKS)
	})
	if a.Issuer != nil {
		mux.Handle("/_local/issuer/", http.StripPrefix("/_local/issuer", a.Issuer))
	}
	mux.HandleFunc("POST /_local/token", keyed(func(w http.ResponseWriter, r *http.Request) {
		role := r.URL.Query().Get("role")
		var stores []string
		if s := r.URL.Query().Get("stores"); s != "" {
			stores = strings.Split(s, ",")
		}
		tok, err := a.Token(role, stores, r.URL.Query().Get("sub"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"token": tok})
	}))
	mux.HandleFunc("GET /_local/sms.json", func(w http.ResponseWriter, r *http.Request) { a.serveSMS(w, false) })
	mux.HandleFunc("GET /_local/sms", func(w http.ResponseWriter, r *http.Request) {
		a.serveSMS(w, strings.Contains(r.Header.Get("Accept"), "text/html"))
	})
	mux.HandleFunc("GET /_local/events", func(w http.ResponseWriter, r *http.Request) {
		var evs []CapturedEvent
		if a.Events != nil {
			evs = a.Events.Events()
		}
		if evs == nil {
			evs = []CapturedEvent{}
		}
		if typ := r.URL.Query().Get("type"); typ != "" {
			kept := evs[:0]
			for _, e := range evs {
				if e.DetailType == typ {
					kept = append(kept, e)
				}
			}
			evs = kept
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"events": evs})
	})
	mux.HandleFunc("GET /_local/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Status())
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			http.Error(w, "the admin API answers loopback clients only", http.StatusForbidden)
			return
		}
		if !selfHost(r, r.Host) {
			http.Error(w, "the admin API answers requests for 127.0.0.1:<port> or localhost:<port> only", http.StatusForbidden)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !selfOrigin(r, o) {
			http.Error(w, "the admin API does not answer other sites' pages", http.StatusForbidden)
			return
		}
		if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			http.Error(w, "the admin API does not answer other sites' pages", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (a *Admin) keyMatches(got string) bool {
	return a.Key != "" && subtle.ConstantTimeCompare([]byte(got), []byte(a.Key)) == 1
}

// localPort is the port the request was accepted on ("" when unknown).
func localPort(r *http.Request) string {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return ""
	}
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return strconv.Itoa(tcp.Port)
	}
	_, p, _ := net.SplitHostPort(addr.String())
	return p
}

// selfHost reports whether hostport names this gateway: 127.0.0.1 or localhost, on the
// port the request came in on. A DNS-rebound name (evil.example resolving to 127.0.0.1)
// arrives with its own name in Host and is refused.
func selfHost(r *http.Request, hostport string) bool {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil || p == "" || p != localPort(r) {
		return false
	}
	return h == "127.0.0.1" || strings.EqualFold(h, "localhost")
}

// selfOrigin reports whether a browser's Origin is the gateway's own page.
func selfOrigin(r *http.Request, origin string) bool {
	rest, ok := strings.CutPrefix(origin, "http://")
	return ok && selfHost(r, rest)
}

// writeInvokeResult answers like Lambda's Invoke API: 200 with the result, or 200 with
// X-Amz-Function-Error and the error document when the function failed.
func writeInvokeResult(w http.ResponseWriter, out []byte, err error) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, ErrUnknown):
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]string{"errorType": "ResourceNotFoundException", "errorMessage": err.Error()})
	case err != nil:
		typ := lambdart.ErrorType(err)
		w.Header().Set("X-Amz-Function-Error", typ)
		msg := err.Error()
		var fe *lambdart.FunctionError
		if errors.As(err, &fe) {
			msg = fe.Message
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
	default:
		_, _ = w.Write(out)
	}
}

// ReadOutbox returns every JSON line of the SMS outbox file (none when it does not exist).
func ReadOutbox(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return []json.RawMessage{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := []json.RawMessage{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || !json.Valid(line) {
			continue // a line being written right now
		}
		out = append(out, json.RawMessage(bytes.Clone(line)))
	}
	return out, sc.Err()
}

var smsPage = template.Must(template.New("sms").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tierflow local SMS outbox</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}pre{margin:0;white-space:pre-wrap}</style>
</head><body><h1>SMS outbox</h1><p>{{len .}} message(s), newest last. JSON: <a href="/_local/sms.json">/_local/sms.json</a></p>
<table><tr><th>#</th><th>message</th></tr>{{range $i, $m := .}}<tr><td>{{$i}}</td><td><pre>{{printf "%s" $m}}</pre></td></tr>{{end}}</table></body></html>
`))

func (a *Admin) serveSMS(w http.ResponseWriter, html bool) {
	msgs, err := ReadOutbox(a.SMSOutbox)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if html {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = smsPage.Execute(w, msgs)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(msgs)
}
