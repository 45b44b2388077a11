package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strings"
)

// The contract as a page, rendered here from the same document at cold start: no script,
// no CDN, nothing to vendor, and the strict CSP of the app (its one inline style is allowed
// by its hash).

type docPage struct {
	Title, Version, Summary string
	Intro                   []template.HTML
	Servers                 []docServer
	Tags                    []docTag
	Schemas                 []docSchema
}

type docServer struct {
	URL         string
	Description template.HTML
}

type docTag struct {
	Name, Description string
	Ops               []docOp
}

type docOp struct {
	ID, Method, Path, Summary string
	Desc                      []template.HTML
	Public                    bool
	Params                    []docParam
	Bodies                    []docMedia
	BodyRequired              bool
	Responses                 []docResponse
}

type docParam struct {
	Name, In string
	Type     template.HTML
	Required bool
	Desc     template.HTML
}

type docMedia struct {
	Media    string
	Schema   template.HTML
	Examples []docExample
}

type docExample struct{ Summary, Value string }

type docResponse struct {
	Status string
	Desc   template.HTML
	Media  []docMedia
}

type docSchema struct {
	Name   string
	Desc   template.HTML
	Schema template.HTML
}

var methods = []string{"get", "put", "post", "patch", "delete"}

var (
	codeSpan = regexp.MustCompile("`([^`]+)`")
	strong   = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// prose renders the document's text: paragraphs, `code` and **strong**, escaped first.
func prose(s string) []template.HTML {
	var out []template.HTML
	for _, p := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		h := template.HTMLEscapeString(strings.Join(strings.Fields(p), " "))
		h = codeSpan.ReplaceAllString(h, "<code>$1</code>")
		h = strong.ReplaceAllString(h, "<strong>$1</strong>")
		out = append(out, template.HTML(h))
	}
	return out
}

func inline(s string) template.HTML {
	p := prose(s)
	parts := make([]string, len(p))
	for i, x := range p {
		parts[i] = string(x)
	}
	return template.HTML(strings.Join(parts, " "))
}

func str(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func asMap(v any) *omap {
	m, _ := v.(*omap)
	if m == nil {
		return &omap{vals: map[string]any{}}
	}
	return m
}

// deref follows a local $ref ("#/components/responses/NotFound").
func (c *contract) deref(v any) any {
	for range 5 {
		m, ok := v.(*omap)
		if !ok {
			return v
		}
		ref, ok := m.get("$ref").(string)
		if !ok {
			return v
		}
		cur := any(c.doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = asMap(cur).get(strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~"))
		}
		v = cur
	}
	return v
}

// typeOf is a schema's type in a few words: "string", "integer ≥ 1", "one of A, B", a link.
func typeOf(s *omap) template.HTML {
	if ref, ok := s.get("$ref").(string); ok {
		name := ref[strings.LastIndex(ref, "/")+1:]
		return template.HTML(fmt.Sprintf(`<a href="#schema-%s">%s</a>`, template.HTMLEscapeString(name), template.HTMLEscapeString(name)))
	}
	if c, ok := s.vals["const"]; ok {
		return template.HTML("<code>" + template.HTMLEscapeString(jsonText(c)) + "</code>")
	}
	if e, ok := s.get("enum").([]any); ok {
		vals := make([]string, len(e))
		for i, x := range e {
			vals[i] = "<code>" + template.HTMLEscapeString(jsonText(x)) + "</code>"
		}
		return template.HTML("one of " + strings.Join(vals, ", "))
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if alts, ok := s.get(k).([]any); ok {
			parts := make([]string, len(alts))
			for i, a := range alts {
				parts[i] = string(typeOf(asMap(a)))
			}
			return template.HTML(strings.Join(parts, " or "))
		}
	}
	t := s.get("type")
	var ts []string
	if list, ok := t.([]any); ok {
		for _, x := range list {
			ts = append(ts, str(x))
		}
	} else if t != nil {
		ts = []string{str(t)}
	}
	out := template.HTMLEscapeString(strings.Join(ts, " or "))
	if out == "array" {
		out = "array of " + string(typeOf(asMap(s.get("items"))))
	}
	var limits []string
	for _, l := range []struct{ k, f string }{{"minimum", "≥ %v"}, {"maximum", "≤ %v"}, {"minLength", "≥ %v chars"},
		{"maxLength", "≤ %v chars"}, {"maxItems", "≤ %v items"}, {"pattern", "matching %v"}, {"format", "%v"}, {"default", "default %v"}} {
		if v, ok := s.vals[l.k]; ok {
			limits = append(limits, template.HTMLEscapeString(fmt.Sprintf(l.f, jsonText(v))))
		}
	}
	if len(limits) > 0 {
		out += ` <span class="lim">` + strings.Join(limits, ", ") + `</span>`
	}
	if out == "" {
		out = "any"
	}
	return template.HTML(out)
}

func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// schemaHTML renders an object's properties as a nested list; other schemas as their type.
func (c *contract) schemaHTML(v any, depth int) template.HTML {
	s := asMap(v)
	var b strings.Builder
	b.WriteString(`<span class="type">` + string(typeOf(s)) + `</span>`)
	if _, isRef := s.vals["$ref"]; isRef || depth > 4 {
		return template.HTML(b.String())
	}
	props := asMap(s.get("properties"))
	if it, ok := s.get("items").(*omap); ok && len(props.keys) == 0 {
		if _, isRef := it.vals["$ref"]; !isRef {
			props = asMap(it.get("properties"))
			s = it
		}
	}
	if alts, ok := s.get("oneOf").([]any); ok {
		for _, a := range alts {
			if am := asMap(a); len(asMap(am.get("properties")).keys) > 0 {
				b.WriteString(string(c.schemaHTML(am, depth+1)))
			}
		}
	}
	if len(props.keys) == 0 {
		return template.HTML(b.String())
	}
	required := map[string]bool{}
	if r, ok := s.get("required").([]any); ok {
		for _, x := range r {
			required[str(x)] = true
		}
	}
	b.WriteString(`<ul class="props">`)
	for _, k := range props.keys {
		p := asMap(props.get(k))
		b.WriteString(`<li><code>` + template.HTMLEscapeString(k) + `</code> `)
		if required[k] {
			b.WriteString(`<span class="req">required</span> `)
		}
		b.WriteString(string(c.schemaHTML(p, depth+1)))
		if d := str(p.get("description")); d != "" {
			b.WriteString(` — ` + string(inline(d)))
		}
		b.WriteString(`</li>`)
	}
	b.WriteString(`</ul>`)
	if s.get("additionalProperties") == false {
		b.WriteString(`<p class="note">No other field is accepted.</p>`)
	}
	return template.HTML(b.String())
}

func (c *contract) media(content any) []docMedia {
	var out []docMedia
	cm := asMap(content)
	for _, mt := range cm.keys {
		m := asMap(cm.get(mt))
		dm := docMedia{Media: mt}
		if sch, ok := m.vals["schema"]; ok {
			dm.Schema = c.schemaHTML(sch, 0)
		}
		if ex, ok := m.vals["example"]; ok {
			dm.Examples = append(dm.Examples, docExample{Value: pretty(ex)})
		}
		exs := asMap(m.get("examples"))
		for _, k := range exs.keys {
			e := asMap(exs.get(k))
			dm.Examples = append(dm.Examples, docExample{Summary: str(e.get("summary")), Value: pretty(e.get("value"))})
		}
		out = append(out, dm)
	}
	return out
}

func pretty(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out bytes.Buffer
	if json.Indent(&out, b, "", "  ") != nil {
		return string(b)
	}
	return out.String()
}

func (c *contract) param(v any) docParam {
	p := asMap(c.deref(v))
	return docParam{Name: str(p.get("name")), In: str(p.get("in")), Required: p.get("required") == true,
		Type: typeOf(asMap(p.get("schema"))), Desc: inline(str(p.get("description")))}
}

// page builds the page's data from the document.
func (c *contract) page() docPage {
	info := asMap(c.doc.get("info"))
	pg := docPage{Title: str(info.get("title")), Version: str(info.get("version")), Summary: str(info.get("summary")),
		Intro: prose(str(info.get("description")))}
	for _, s := range c.doc.get("servers").([]any) {
		sm := asMap(s)
		pg.Servers = append(pg.Servers, docServer{URL: str(sm.get("url")), Description: inline(str(sm.get("description")))})
	}
	tagIndex := map[string]int{}
	if tags, ok := c.doc.get("tags").([]any); ok {
		for _, t := range tags {
			tm := asMap(t)
			tagIndex[str(tm.get("name"))] = len(pg.Tags)
			pg.Tags = append(pg.Tags, docTag{Name: str(tm.get("name")), Description: str(tm.get("description"))})
		}
	}
	globalSecurity := len(asSlice(c.doc.get("security"))) > 0
	paths := asMap(c.doc.get("paths"))
	for _, path := range paths.keys {
		item := asMap(paths.get(path))
		shared := asSlice(item.get("parameters"))
		for _, m := range methods {
			opv, ok := item.vals[m]
			if !ok {
				continue
			}
			op := asMap(opv)
			d := docOp{ID: str(op.get("operationId")), Method: strings.ToUpper(m), Path: path, Summary: str(op.get("summary")),
				Desc: prose(str(op.get("description")))}
			sec, hasSec := op.vals["security"]
			d.Public = (hasSec && len(asSlice(sec)) == 0) || (!hasSec && !globalSecurity)
			for _, p := range append(append([]any{}, shared...), asSlice(op.get("parameters"))...) {
				d.Params = append(d.Params, c.param(p))
			}
			if rb, ok := op.vals["requestBody"]; ok {
				rbm := asMap(c.deref(rb))
				d.BodyRequired = rbm.get("required") == true
				d.Bodies = c.media(rbm.get("content"))
			}
			resps := asMap(op.get("responses"))
			keys := append([]string(nil), resps.keys...)
			sort.Strings(keys)
			for _, code := range keys {
				r := asMap(c.deref(resps.get(code)))
				d.Responses = append(d.Responses, docResponse{Status: code, Desc: inline(str(r.get("description"))), Media: c.media(r.get("content"))})
			}
			tag := "other"
			if ts := asSlice(op.get("tags")); len(ts) > 0 {
				tag = str(ts[0])
			}
			i, ok := tagIndex[tag]
			if !ok {
				i = len(pg.Tags)
				tagIndex[tag] = i
				pg.Tags = append(pg.Tags, docTag{Name: tag})
			}
			pg.Tags[i].Ops = append(pg.Tags[i].Ops, d)
		}
	}
	schemas := asMap(asMap(c.doc.get("components")).get("schemas"))
	for _, name := range schemas.keys {
		s := asMap(schemas.get(name))
		pg.Schemas = append(pg.Schemas, docSchema{Name: name, Desc: inline(str(s.get("description"))), Schema: c.schemaHTML(s, 0)})
	}
	return pg
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// docsStyle is the page's only style, allowed by its hash in the page's CSP.
const docsStyle = `
:root{color-scheme:light dark;--fg:#1d2430;--muted:#5b6576;--bg:#fff;--card:#f6f7f9;--line:#dde1e7;--get:#1a7f37;--post:#0b5cad;--put:#8a5a00;--patch:#6f42c1;--delete:#b42318}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#a3acba;--bg:#14171c;--card:#1c2027;--line:#2c323c}}
*{box-sizing:border-box}body{margin:0;font:15px/1.55 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
.wrap{display:grid;grid-template-columns:270px 1fr;max-width:1280px;margin:0 auto}
nav{position:sticky;top:0;height:100vh;overflow:auto;padding:20px 16px;border-right:1px solid var(--line);font-size:13px}
nav h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:18px 0 6px}
nav a{display:block;color:inherit;text-decoration:none;padding:2px 0}nav a:hover{text-decoration:underline}
main{padding:24px 36px;min-width:0}h1{margin:0 0 4px}h2.tag{margin-top:40px;border-bottom:1px solid var(--line);padding-bottom:6px}
.op{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:16px 0}
.op h3{margin:0 0 6px;font-size:16px;display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.m{font:700 12px ui-monospace,monospace;color:#fff;border-radius:4px;padding:2px 7px}.m.GET{background:var(--get)}.m.POST{background:var(--post)}.m.PUT{background:var(--put)}.m.PATCH{background:var(--patch)}.m.DELETE{background:var(--delete)}
.path{font:600 15px ui-monospace,monospace}.auth{font-size:12px;color:var(--muted);margin-left:auto}
h4{margin:14px 0 4px;font-size:13px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{text-align:left;vertical-align:top;padding:4px 8px;border-top:1px solid var(--line)}
code{font:13px ui-monospace,monospace;background:rgba(127,127,127,.14);border-radius:3px;padding:0 3px}
pre{background:rgba(127,127,127,.12);border-radius:6px;padding:10px;overflow:auto;font:12.5px/1.45 ui-monospace,monospace;max-height:420px}
ul.props{margin:4px 0 4px 0;padding-left:18px}.type{color:var(--muted)}.lim{font-size:12px}.req{font-size:11px;color:var(--delete);font-weight:600}
.status{font:600 13px ui-monospace,monospace}.note{color:var(--muted);font-size:13px;margin:2px 0}
.mt{font:12px ui-monospace,monospace;color:var(--muted)}
@media (max-width:800px){.wrap{grid-template-columns:1fr}nav{position:static;height:auto;border-right:0;border-bottom:1px solid var(--line)}main{padding:16px}}
`

var docsTmpl = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{{.Title}} — reference</title><style>{{.Style}}</style></head>
<body><div class="wrap"><nav>
<strong>{{.Title}}</strong><div class="note">version {{.Version}} · <a href="/v1/openapi.json">openapi.json</a></div>
{{range .Tags}}<h2>{{.Name}}</h2>{{range .Ops}}<a href="#{{.ID}}"><span class="mt">{{.Method}}</span> {{.Path}}</a>{{end}}{{end}}
<h2>schemas</h2>{{range .Schemas}}<a href="#schema-{{.Name}}">{{.Name}}</a>{{end}}
</nav><main>
<h1>{{.Title}}</h1><p class="note">{{.Summary}} OpenAPI 3.1 · version {{.Version}} · the same document as JSON: <a href="/v1/openapi.json"><code>GET /v1/openapi.json</code></a></p>
{{range .Intro}}<p>{{.}}</p>{{end}}
<h4>Servers</h4><ul>{{range .Servers}}<li><code>{{.URL}}</code> — {{.Description}}</li>{{end}}</ul>
{{range .Tags}}<h2 class="tag" id="tag-{{.Name}}">{{.Name}}</h2><p>{{.Description}}</p>
{{range .Ops}}<section class="op" id="{{.ID}}"><h3><span class="m {{.Method}}">{{.Method}}</span><span class="path">{{.Path}}</span><span>{{.Summary}}</span>
<span class="auth">{{if .Public}}public{{else}}staff token{{end}}</span></h3>
{{range .Desc}}<p>{{.}}</p>{{end}}
{{if .Params}}<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>about</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{.In}}</td><td>{{.Type}}</td><td>{{.Desc}}</td></tr>{{end}}</table>{{end}}
{{if .Bodies}}<h4>Request body{{if .BodyRequired}} <span class="req">required</span>{{end}}</h4>
{{range .Bodies}}<div class="mt">{{.Media}}</div>{{.Schema}}{{range .Examples}}{{if .Summary}}<p class="note">{{.Summary}}</p>{{end}}<pre>{{.Value}}</pre>{{end}}{{end}}{{end}}
<h4>Responses</h4><table>{{range .Responses}}<tr><td class="status">{{.Status}}</td><td>{{.Desc}}{{range .Media}}<div><span class="mt">{{.Media}}</span> {{.Schema}}</div>{{end}}</td></tr>{{end}}</table>
</section>{{end}}{{end}}
<h2 class="tag" id="schemas">Schemas</h2>
{{range .Schemas}}<section class="op" id="schema-{{.Name}}"><h3><span class="path">{{.Name}}</span></h3>{{if .Desc}}<p>{{.Desc}}</p>{{end}}{{.Schema}}</section>{{end}}
</main></div></body></html>
`))

// docsCSP is the app's policy with the page's inline style allowed by its hash.
func docsCSP() string {
	sum := sha256.Sum256([]byte(docsStyle))
	hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	return strings.Replace(CSP, "style-src 'self'", "style-src "+hash, 1)
}

// renderDocs renders the page.
func (c *contract) renderDocs() ([]byte, error) {
	var b bytes.Buffer
	data := struct {
		docPage
		Style template.CSS
	}{c.page(), template.CSS(docsStyle)}
	if err := docsTmpl.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render the contract's page: %w", err)
	}
	return b.Bytes(), nil
}
