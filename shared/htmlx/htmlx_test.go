package htmlx_test

import (
	"html/template"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/htmlx"
	"github.com/tierflow/tierflow/shared/htmlx/htmlxtest"
)

// Each escaper gives, for every value above, what html/template gives in the place the
// escaper is for.
func TestEscapersEscapeAsHTMLTemplateDoes(t *testing.T) {
	places := []struct {
		name, src string
		esc       func(string) string
	}{
		{"text", `<p>{{.}}</p>`, htmlx.Text},
		{"a double-quoted attribute", `<input value="{{.}}">`, htmlx.Text},
		{"an href it opens", `<a href="{{.}}">x</a>`, htmlx.URL},
		{"a src it opens", `<img src="{{.}}">`, htmlx.URL},
		{"a query value of a form action", `<form action="/v1/x?t={{.}}&amp;r=1"></form>`, htmlx.QueryValue},
		{"a query value of an href", `<a href="https://x.example/?u={{.}}">x</a>`, htmlx.QueryValue},
	}
	for _, p := range places {
		tmpl := template.Must(template.New(p.name).Parse(p.src))
		before, after, _ := strings.Cut(p.src, "{{.}}")
		for _, v := range htmlxtest.Hostile {
			var want strings.Builder
			if err := tmpl.Execute(&want, v); err != nil {
				t.Fatal(err)
			}
			if got := before + p.esc(v) + after; got != want.String() {
				t.Errorf("%s with %q:\n got %q\nwant %q", p.name, v, got, want.String())
			}
		}
	}
}
