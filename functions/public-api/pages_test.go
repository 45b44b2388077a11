package main

import (
	"strings"
	"testing"
)

// What a link or a stored wording could carry that must not become markup or leave the
// URL it stands in.
const hostileValue = `a"b<c>&d+e f%41'`

// The pages are written out rather than executed by html/template; what reaches them
// from a link (token, survey reference) or the store (wording, version) is escaped as
// html/template escapes it, and a page that is done offers no form to post again.
func TestCustomerPagesEscapeWhatTheyShow(t *testing.T) {
	const inQuery = "a%22b%3cc%3e%26d%2be%20f%2541%27" // html/template's escaping in a URL's query
	const inText = "a&#34;b&lt;c&gt;&amp;d&#43;e f%41&#39;"
	cases := []struct {
		name, html string
		done       bool // no form to post again
		want       []string
	}{
		{"the unsubscribe form posts to its token", unsubscribePageHTML(hostileValue, false), false,
			[]string{`<form method="post" action="/v1/unsubscribe?t=` + inQuery + `">`, "确认退订 · Unsubscribe"}},
		{"the survey form posts to its token and reference", surveyPageHTML(hostileValue, hostileValue, false), false,
			[]string{`action="/v1/feedback?t=` + inQuery + `&amp;r=` + inQuery + `"`,
				`<input type="radio" name="csat" value="1"> 1</label>`, `value="5"> 5</label>`,
				`<input type="radio" name="nps" value="0"> 0</label>`, `value="10"> 10</label>`}},
		{"the consent page shows each wording and its version", consentPageHTML(hostileValue, hostileValue, []consentItem{{ZH: hostileValue, EN: "email <b>"}}, false), false,
			[]string{`action="/v1/consent/confirm?t=` + inQuery + `"`, "<li><p>" + inText + "</p><p>email &lt;b&gt;</p></li>", "Wording version " + inText + "</p>"}},
		{"a done unsubscribe says so", unsubscribePageHTML("", true), true, []string{"Unsubscribed"}},
		{"a done survey thanks", surveyPageHTML("", "", true), true, []string{"Thank you!"}},
		{"a done consent says it is recorded", consentPageHTML("", "", nil, true), true, []string{"your consent is recorded"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.HasPrefix(tc.html, "<!doctype html>") || !strings.HasSuffix(tc.html, "</body></html>") {
				t.Errorf("not a whole document:\n%s", tc.html)
			}
			for _, w := range tc.want {
				if !strings.Contains(tc.html, w) {
					t.Errorf("page lacks %q:\n%s", w, tc.html)
				}
			}
			if strings.Contains(tc.html, hostileValue) || strings.Contains(tc.html, "<c>") {
				t.Errorf("a value reached the page unescaped:\n%s", tc.html)
			}
			if strings.Contains(tc.html, "<form") == tc.done {
				t.Errorf("form present = %v on a page done = %v", !tc.done, tc.done)
			}
		})
	}
}
