package gateway_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkPublicRouteRoundTrip: HTTP request → payload 2.0 event → warm function
// process → response mapped back, over loopback.
func BenchmarkPublicRouteRoundTrip(b *testing.B) {
	f := newFixture(b)
	body := `{"name":"Li","phone":"+8613800000000","store":"s1"}`
	roundTrips(b, func() (*http.Response, error) {
		return http.Post(f.srv.URL+"/v1/echo", "application/json", strings.NewReader(body))
	})
}

// BenchmarkStaffRouteRoundTrip adds the JWT authorizer's ES256 verification.
func BenchmarkStaffRouteRoundTrip(b *testing.B) {
	f := newFixture(b)
	tok, err := f.issuer.Mint("admin", []string{"s1"}, "", 3600e9)
	if err != nil {
		b.Fatal(err)
	}
	req, err := http.NewRequest("GET", f.srv.URL+"/v1/customers/c-1", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	roundTrips(b, func() (*http.Response, error) { return http.DefaultClient.Do(req) })
}

// roundTrips times send, reading each answer whole; anything but a 200 fails.
func roundTrips(b *testing.B, send func() (*http.Response, error)) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		resp, err := send()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.Status)
		}
	}
}
