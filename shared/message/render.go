package message

import (
	"fmt"
	"strings"
	"text/template/parse"

	"github.com/tierflow/tierflow/shared/htmlx"
)

// A compiled template is its literal text and its {{.Var}} actions in order, each with
// the escaping html/template would apply at that place. Rendering it is string
// concatenation: executing text/template calls reflect's MethodByName, and a binary
// that can reach that keeps every exported method of every type it links (the dispatch
// bootstrap weighed 21 MB instead of 12 for it, issue #13). Parse compiles what the
// catalog uses — variables in text, in HTML text and at the start of a double-quoted
// href or src — and refuses anything else, so a template never renders differently
// from html/template (render_test.go holds the two to the same output).
type compiled []piece

type piece struct {
	lit   string
	field string              // a variable when set
	esc   func(string) string // nil: inserted as it is (text)
}

func (c compiled) render(vars map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range c {
		if p.field == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := vars[p.field]
		if !ok {
			return "", fmt.Errorf("map has no entry for key %q", p.field)
		}
		if p.esc != nil {
			v = p.esc(v)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// field returns the variable an action prints, if it is just {{.Var}}.
func field(n *parse.ActionNode) (string, bool) {
	if n.Pipe == nil || len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
		return "", false
	}
	f, ok := n.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", false
	}
	return f.Ident[0], true
}

// compileText compiles a text/template tree: text and {{.Var}}, nothing else.
func compileText(root *parse.ListNode) (compiled, error) {
	var c compiled
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			c = append(c, piece{lit: string(n.Text)})
		case *parse.ActionNode:
			f, ok := field(n)
			if !ok {
				return nil, fmt.Errorf("%s: only {{.Variable}} actions are supported", n)
			}
			c = append(c, piece{field: f})
		default:
			return nil, fmt.Errorf("%s: only text and {{.Variable}} are supported", n)
		}
	}
	return c, nil
}

// htmlState is where the literal text so far leaves an HTML template.
type htmlState struct {
	inTag      bool   // between <name and >
	attr       string // lower-cased name of the attribute whose double-quoted value we are in
	inValue    bool
	valueSoFar int // bytes of that value before here
}

// compileHTML compiles an html/template tree whose actions sit in text or at the start
// of a double-quoted href/src value.
func compileHTML(root *parse.ListNode) (compiled, error) {
	var c compiled
	var st htmlState
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			if err := st.advance(string(n.Text)); err != nil {
				return nil, err
			}
			c = append(c, piece{lit: string(n.Text)})
		case *parse.ActionNode:
			f, ok := field(n)
			if !ok {
				return nil, fmt.Errorf("%s: only {{.Variable}} actions are supported", n)
			}
			switch {
			case !st.inTag:
				c = append(c, piece{field: f, esc: htmlx.Text})
			case st.inValue && st.valueSoFar == 0 && (st.attr == "href" || st.attr == "src"):
				c = append(c, piece{field: f, esc: htmlx.URL})
				st.valueSoFar = 1 // text after it continues the URL
			default:
				return nil, fmt.Errorf("%s: a variable may stand in text or begin a double-quoted href/src value", n)
			}
		default:
			return nil, fmt.Errorf("%s: only text and {{.Variable}} are supported", n)
		}
	}
	if st.inTag {
		return nil, fmt.Errorf("the template ends inside a tag")
	}
	return c, nil
}

// advance moves st over literal HTML. It knows tags, attributes and double-quoted
// values; comments, raw-text elements and other quoting are refused (html/template
// treats them specially).
func (st *htmlState) advance(s string) error {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case st.inValue:
			if ch == '"' {
				st.inValue, st.attr = false, ""
			} else {
				st.valueSoFar++
			}
		case !st.inTag:
			if ch != '<' {
				continue
			}
			rest := s[i+1:]
			if strings.HasPrefix(rest, "!") || strings.HasPrefix(rest, "?") {
				return fmt.Errorf("comments and declarations are not supported")
			}
			end := strings.IndexAny(rest, " \t\n\r/>")
			if end < 0 {
				end = len(rest)
			}
			name := strings.ToLower(rest[:end])
			switch name {
			case "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext":
				return fmt.Errorf("<%s> is not supported", name)
			}
			st.inTag = true
			i += end
		default: // in a tag, outside values
			switch {
			case ch == '>':
				st.inTag = false
			case ch == '"' || ch == '\'' || ch == '`':
				return fmt.Errorf("a quote outside an attribute value")
			case ch == '=':
				j := i + 1
				for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
					j++
				}
				if j >= len(s) || s[j] != '"' {
					return fmt.Errorf("attribute values must be double-quoted")
				}
				st.attr, st.inValue, st.valueSoFar = attrBefore(s[:i]), true, 0
				i = j
			}
		}
	}
	return nil
}

// attrBefore returns the lower-cased attribute name that ends s (before its '=').
func attrBefore(s string) string {
	s = strings.TrimRight(s, " \t")
	k := strings.LastIndexAny(s, " \t\n\r<")
	return strings.ToLower(s[k+1:])
}
