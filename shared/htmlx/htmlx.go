// Package htmlx escapes values for HTML that is written out rather than produced by
// executing html/template, exactly as html/template escapes them in the same place.
//
// Executing a template (text/template or html/template) calls reflect's MethodByName
// with a name known only at run time, and a binary that can reach that call keeps every
// exported method of every type it links: every operation of every AWS client. That
// cost the dispatch bootstrap 9 MB and public-api 4 MB (docs/scale.md, issue #13), so
// the catalog (shared/message) and the customer pages of public-api are written with
// these escapers instead; htmlx_test.go holds each to html/template's output.
package htmlx

import (
	"strings"
	"unicode/utf8"
)

// Text escapes s for HTML text or a double-quoted attribute value (html/template's
// htmlEscaper and attrEscaper for plain strings).
func Text(s string) string {
	var b strings.Builder
	written := 0
	for i, r := range s {
		var repl string
		switch r {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(repl)
		written = i + utf8.RuneLen(r)
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

// URL is a value opening a double-quoted href or src: a scheme other than http, https
// or mailto is replaced, what may not stand in a URL is percent-encoded (valid escapes
// and reserved characters are kept), and the result is escaped for the attribute.
func URL(s string) string {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") {
		if !strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
			s = "#ZgotmplZ"
		}
	}
	return Text(processURL(s, true))
}

// QueryValue is a value inside the query of a URL attribute (after its '?'), such as
// the token of action="/v1/unsubscribe?t=…": every byte but letters, digits and -._~
// is percent-encoded, so the result needs no further escaping in the attribute.
func QueryValue(s string) string {
	return processURL(s, false)
}

// processURL is html/template's processURLOnto: it percent-encodes s, keeping reserved
// characters and valid escapes when norm is set (a whole URL) and encoding them when
// it is not (one part of a query).
func processURL(s string, norm bool) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	written := 0
	for i, n := 0, len(s); i < n; i++ {
		c := s[i]
		switch c {
		case '!', '#', '$', '&', '*', '+', ',', '/', ':', ';', '=', '?', '@', '[', ']':
			if norm {
				continue
			}
		case '-', '.', '_', '~':
			continue
		case '%':
			if norm && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				continue // a valid escape is kept
			}
		default:
			if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
				continue
			}
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
