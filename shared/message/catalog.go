package message

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"slices"
	"sort"
	"strings"
	texttemplate "text/template"
	"text/template/parse"
)

// Sentinel errors callers branch on: all three mean "this reminder cannot be rendered"
// and fail it permanently (retrying will not add a variable).
var (
	ErrUnknownTemplate = errors.New("unknown message template")
	ErrMissingVariable = errors.New("template variable missing")
	ErrEmptyMessage    = errors.New("rendered message is empty")
	ErrWrongChannel    = errors.New("template not available on channel")
	ErrInvalidCatalog  = errors.New("invalid message catalog")
)

// Channel names as in model.Channel; kept as strings so the catalog has no dependencies.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
)

// Rendered is a message ready for a provider.
type Rendered struct {
	Locale  string
	Subject string // email only
	Text    string // SMS body, or the email's text part
	HTML    string // email only
}

type localized struct {
	subject, text *texttemplate.Template
	html          *htmltemplate.Template
	required      []string // every {{.Var}} the locale uses, for a clear error before executing
	// What Render runs: the templates above compiled without text/template's executor
	// (render.go).
	subjectC, textC, htmlC compiled
}

type entry struct {
	channels []string
	locales  map[string]localized
}

// Catalog is a parsed, validated set of templates; safe for concurrent use.
type Catalog struct {
	defaultLocale string
	entries       map[string]entry
}

//go:embed catalog.json
var defaultCatalogJSON []byte

// Default returns the embedded catalog. Tests parse it, so an error is a build defect.
func Default() (*Catalog, error) { return Parse(defaultCatalogJSON) }

type rawLocale struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

type rawCatalog struct {
	DefaultLocale string `json:"defaultLocale"`
	Templates     map[string]struct {
		Channels []string             `json:"channels"`
		Locales  map[string]rawLocale `json:"locales"`
	} `json:"templates"`
}

// Parse reads a catalog document. Every template must parse in every locale, exist in
// the default locale, and email templates must have subject, text, HTML and an
// {{.UnsubscribeURL}} in both bodies.
func Parse(b []byte) (*Catalog, error) {
	var raw rawCatalog
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	if raw.DefaultLocale == "" {
		return nil, fmt.Errorf("%w: defaultLocale empty", ErrInvalidCatalog)
	}
	c := &Catalog{defaultLocale: raw.DefaultLocale, entries: map[string]entry{}}
	for id, t := range raw.Templates {
		if _, ok := t.Locales[raw.DefaultLocale]; !ok {
			return nil, fmt.Errorf("%w: %s: no %s text", ErrInvalidCatalog, id, raw.DefaultLocale)
		}
		e := entry{channels: t.Channels, locales: map[string]localized{}}
		email := slices.Contains(t.Channels, ChannelEmail)
		for loc, rl := range t.Locales {
			field := id + "." + loc
			if rl.Text == "" {
				return nil, fmt.Errorf("%w: %s.text empty", ErrInvalidCatalog, field)
			}
			if email && (rl.Subject == "" || rl.HTML == "" || !strings.Contains(rl.HTML, ".UnsubscribeURL") || !strings.Contains(rl.Text, ".UnsubscribeURL")) {
				return nil, fmt.Errorf("%w: %s: email needs subject, text and html, each body with {{.UnsubscribeURL}}", ErrInvalidCatalog, field)
			}
			var l localized
			var err error
			req := map[string]bool{}
			if l.text, err = parseText(field+".text", rl.Text, req); err != nil {
				return nil, err
			}
			if l.textC, err = compileText(l.text.Tree.Root); err != nil {
				return nil, fmt.Errorf("%w: %s.text: %w", ErrInvalidCatalog, field, err)
			}
			if rl.Subject != "" {
				if l.subject, err = parseText(field+".subject", rl.Subject, req); err != nil {
					return nil, err
				}
				if l.subjectC, err = compileText(l.subject.Tree.Root); err != nil {
					return nil, fmt.Errorf("%w: %s.subject: %w", ErrInvalidCatalog, field, err)
				}
			}
			if rl.HTML != "" {
				h, err := htmltemplate.New(field + ".html").Option("missingkey=error").Parse(rl.HTML)
				if err != nil {
					return nil, fmt.Errorf("%w: %s.html: %w", ErrInvalidCatalog, field, err)
				}
				collect(h.Tree.Root, req)
				l.html = h
				if l.htmlC, err = compileHTML(h.Tree.Root); err != nil {
					return nil, fmt.Errorf("%w: %s.html: %w", ErrInvalidCatalog, field, err)
				}
			}
			for k := range req {
				l.required = append(l.required, k)
			}
			sort.Strings(l.required)
			e.locales[loc] = l
		}
		c.entries[id] = e
	}
	return c, nil
}

func parseText(name, src string, req map[string]bool) (*texttemplate.Template, error) {
	t, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCatalog, name, err)
	}
	collect(t.Tree.Root, req)
	return t, nil
}

// collect records the top-level fields ({{.Name}}) a template reads.
func collect(n parse.Node, req map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collect(c, req)
		}
	case *parse.ActionNode:
		collect(n.Pipe, req)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				collect(a, req)
			}
		}
	case *parse.FieldNode:
		req[n.Ident[0]] = true
	case *parse.IfNode:
		collect(n.Pipe, req)
		collect(n.List, req)
		collect(n.ElseList, req)
	case *parse.RangeNode:
		collect(n.Pipe, req)
	case *parse.WithNode:
		collect(n.Pipe, req)
	}
}

// Has reports whether the catalog knows id on channel.
func (c *Catalog) Has(id, channel string) bool {
	e, ok := c.entries[id]
	return ok && slices.Contains(e.channels, channel)
}

// IDs lists the template ids, sorted.
func (c *Catalog) IDs() []string {
	ids := make([]string, 0, len(c.entries))
	for id := range c.entries {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Render fills template id for channel in locale (falling back to the catalog's default
// locale, then to the language part: "en-GB" → "en"). vars must contain every variable
// the template uses; values are escaped for HTML by html/template.
func (c *Catalog) Render(id, channel, locale string, vars map[string]string) (Rendered, error) {
	e, ok := c.entries[id]
	if !ok {
		return Rendered{}, fmt.Errorf("%w: %q", ErrUnknownTemplate, id)
	}
	if !slices.Contains(e.channels, channel) {
		return Rendered{}, fmt.Errorf("%w: %s on %s", ErrWrongChannel, id, channel)
	}
	loc := locale
	l, ok := e.locales[loc]
	if !ok {
		lang, _, _ := strings.Cut(locale, "-")
		if l, ok = e.locales[lang]; ok {
			loc = lang
		} else {
			loc, l = c.defaultLocale, e.locales[c.defaultLocale]
		}
	}
	var missing []string
	for _, k := range l.required {
		if strings.TrimSpace(vars[k]) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Rendered{}, fmt.Errorf("%w: %s (%s) needs %s", ErrMissingVariable, id, loc, strings.Join(missing, ", "))
	}
	out := Rendered{Locale: loc}
	var err error
	if out.Text, err = l.textC.render(vars); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s text: %w", id, err)
	}
	if l.subject != nil {
		if out.Subject, err = l.subjectC.render(vars); err != nil {
			return Rendered{}, fmt.Errorf("rendering %s subject: %w", id, err)
		}
	}
	if channel == ChannelEmail && l.html != nil {
		if out.HTML, err = l.htmlC.render(vars); err != nil {
			return Rendered{}, fmt.Errorf("rendering %s html: %w", id, err)
		}
	}
	if strings.TrimSpace(out.Text) == "" {
		return Rendered{}, fmt.Errorf("%w: %s", ErrEmptyMessage, id)
	}
	return out, nil
}
