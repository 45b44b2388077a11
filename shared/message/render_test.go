package message

import (
	"encoding/json"
	htmltemplate "html/template"
	"strings"
	"testing"
	texttemplate "text/template"

	"github.com/tierflow/tierflow/shared/htmlx/htmlxtest"
)

// Render without text/template's executor gives, for every template of the catalog and
// every value above, exactly what text/template and html/template give.
func TestCompiledTemplatesRenderAsTextAndHTMLTemplateDo(t *testing.T) {
	var raw rawCatalog
	if err := json.Unmarshal(defaultCatalogJSON, &raw); err != nil {
		t.Fatal(err)
	}
	cat, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	execText := func(src string, vars map[string]string) string {
		var b strings.Builder
		if err := texttemplate.Must(texttemplate.New("").Option("missingkey=error").Parse(src)).Execute(&b, vars); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	execHTML := func(src string, vars map[string]string) string {
		var b strings.Builder
		if err := htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").Parse(src)).Execute(&b, vars); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	checked := 0
	for id, tpl := range raw.Templates {
		for loc, rl := range tpl.Locales {
			for _, v := range htmlxtest.Hostile {
				if v == "" {
					continue // a required variable left empty is refused, as it should be
				}
				vars := map[string]string{}
				for _, k := range cat.entries[id].locales[loc].required {
					vars[k] = v
				}
				for _, ch := range tpl.Channels {
					got, err := cat.Render(id, ch, loc, vars)
					if err != nil {
						t.Fatalf("%s %s %s: %v", id, ch, loc, err)
					}
					if want := execText(rl.Text, vars); got.Text != want {
						t.Errorf("%s.%s text with %q:\n got %q\nwant %q", id, loc, v, got.Text, want)
					}
					if rl.Subject != "" && got.Subject != execText(rl.Subject, vars) {
						t.Errorf("%s.%s subject with %q: %q", id, loc, v, got.Subject)
					}
					if ch == ChannelEmail && rl.HTML != "" {
						if want := execHTML(rl.HTML, vars); got.HTML != want {
							t.Errorf("%s.%s html with %q:\n got %q\nwant %q", id, loc, v, got.HTML, want)
						}
						checked++
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no HTML template was compared")
	}
}

// Where html/template would escape differently than the compiled renderer knows how to,
// the catalog is refused instead of rendered differently.
func TestCompileRefusesWhatItCannotEscapeLikeHTMLTemplate(t *testing.T) {
	cases := []struct {
		name, src string
		ok        bool
	}{
		{"a variable in text", "<p>Hi {{.Name}}</p>", true},
		{"a variable opening a double-quoted href", `<a href="{{.URL}}">x</a>`, true},
		{"a variable in the query of a URL", `<a href="https://x.example/?u={{.URL}}">x</a>`, false},
		{"a variable in a single-quoted value", `<a href='{{.URL}}'>x</a>`, false},
		{"a variable in an unquoted value", `<a href={{.URL}}>x</a>`, false},
		{"a variable in an event handler", `<a onclick="{{.X}}">x</a>`, false},
		{"a variable in a style attribute", `<p style="{{.X}}">x</p>`, false},
		{"a variable in a script", `<script>var x = "{{.X}}"</script>`, false},
		{"a comment", `<!-- {{.X}} --><p>x</p>`, false},
		{"a conditional", `{{if .X}}<p>x</p>{{end}}`, false},
		{"a pipeline", `<p>{{.X | html}}</p>`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := htmltemplate.New("t").Parse(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := compileHTML(h.Tree.Root); (err == nil) != tc.ok {
				t.Errorf("compileHTML(%q) = %v, want ok=%v", tc.src, err, tc.ok)
			}
		})
	}
}
