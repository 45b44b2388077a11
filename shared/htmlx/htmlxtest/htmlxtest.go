// Package htmlxtest holds the hostile values the escaping tests of shared/htmlx and
// shared/message feed through their escapers, so both check the same inputs.
package htmlxtest

// Hostile are values a name, a token or a link could carry: markup, quotes, entities, script URLs,
// unencoded and already-encoded URL bytes, reserved URL characters, non-ASCII, NUL.
var Hostile = []string{
	"",
	"Wang Fang",
	`<script>alert("x")</script> & 'quotes' + plus`,
	"javascript:alert(1)",
	"JavaScript:alert(1)",
	"https://tierflow.example/u/abc?x=1&y=2 space é%41%zz%4",
	"mailto:a@b.example",
	"data:text/html,<b>x</b>",
	"/relative/path?q=a b#frag",
	"王芳\x00(nul)",
	"100% sure",
	"tok_-.~AZaz09!#$&*+,/:;=?@[]()'\"",
	"\x7f\x01\xff",
}
