package httpx

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Media types the decoders accept.
const (
	MediaJSON = "application/json"
	MediaForm = "application/x-www-form-urlencoded"
)

// DefaultBodyLimit is generous for a lead form or a staff PATCH and small enough that a
// 10 MB post is refused before it is parsed.
const DefaultBodyLimit int64 = 64 << 10

// MediaType returns the request's media type, lower case, without parameters. A charset
// other than UTF-8 is refused, since everything downstream assumes UTF-8.
func MediaType(req events.APIGatewayV2HTTPRequest) (string, error) {
	ct := Header(req, "Content-Type")
	if ct == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", UnsupportedMediaType(MediaJSON, MediaForm).Wrap(err)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "", UnsupportedMediaType(MediaJSON+"; charset=utf-8", MediaForm+"; charset=utf-8")
	}
	return mt, nil
}

// IsForm reports whether the request body is an HTML form post.
func IsForm(req events.APIGatewayV2HTTPRequest) bool {
	mt, err := MediaType(req)
	return err == nil && mt == MediaForm
}

// Body returns the raw body, base64-decoded when API Gateway encoded it, refusing bodies
// over limit (≤ 0 means DefaultBodyLimit) and bodies that are not valid UTF-8.
func Body(req events.APIGatewayV2HTTPRequest, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultBodyLimit
	}
	var raw []byte
	if req.IsBase64Encoded {
		// Checked before decoding so an oversized body costs no allocation.
		if int64(base64.StdEncoding.DecodedLen(len(req.Body))) > limit+2 {
			return nil, PayloadTooLarge(limit)
		}
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return nil, BadRequest("", "the body is not valid base64").Wrap(err)
		}
		raw = b
	} else {
		raw = []byte(req.Body)
	}
	if int64(len(raw)) > limit {
		return nil, PayloadTooLarge(limit)
	}
	if !utf8.Valid(raw) {
		return nil, BadRequest("", "the body is not valid UTF-8 text")
	}
	return raw, nil
}

// DecodeJSON decodes the body into v. Unknown fields are refused (no mass assignment) and
// named, as are fields of the wrong type.
func DecodeJSON(req events.APIGatewayV2HTTPRequest, v any, limit int64) error {
	mt, err := MediaType(req)
	if err != nil {
		return err
	}
	if mt != "" && mt != MediaJSON && !strings.HasSuffix(mt, "+json") {
		return UnsupportedMediaType(MediaJSON)
	}
	raw, err := Body(req, limit)
	if err != nil {
		return err
	}
	return UnmarshalStrict(raw, v)
}

// UnmarshalStrict is DecodeJSON's core, for bodies already read.
func UnmarshalStrict(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return BadRequest("", "the body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("", "the body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return BadRequest("", fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset)).Wrap(err)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return BadRequest("", "the body must be a JSON "+jsonKind(typ.Type.Kind().String())).Wrap(err)
		}
		return BadRequest(field, "must be a "+jsonKind(typ.Type.Kind().String())+", not "+typ.Value).Wrap(err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("", "the body is truncated JSON").Wrap(err)
	}
	// encoding/json reports unknown fields only as text: `json: unknown field "x"`.
	if msg := err.Error(); strings.Contains(msg, "unknown field") {
		field := msg
		if i := strings.Index(msg, `"`); i >= 0 {
			field = strings.Trim(msg[i:], `"`)
		}
		return BadRequest(field, "is not a known field").Wrap(err)
	}
	return BadRequest("", "the body cannot be read as JSON").Wrap(err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "map", "struct", "ptr":
		return "object"
	}
	return "number"
}

// DecodeForm parses an application/x-www-form-urlencoded body (see ParseForm).
func DecodeForm(req events.APIGatewayV2HTTPRequest, limit int64) (url.Values, error) {
	mt, err := MediaType(req)
	if err != nil {
		return nil, err
	}
	if mt != MediaForm {
		return nil, UnsupportedMediaType(MediaForm)
	}
	raw, err := Body(req, limit)
	if err != nil {
		return nil, err
	}
	return ParseForm(raw)
}

// ParseForm parses a form body already read. Percent-escapes that decode to invalid
// UTF-8 (name=%FF) are refused and the field named, as JSON refuses them: the raw-body
// check cannot see through the escapes.
func ParseForm(raw []byte) (url.Values, error) {
	vals, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, BadRequest("", "the form body is malformed").Wrap(err)
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same field is named whatever the map order
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return nil, BadRequest("", "a form field name is not valid UTF-8")
		}
		for _, v := range vals[k] {
			if !utf8.ValidString(v) {
				return nil, BadRequest(k, "is not valid UTF-8 text")
			}
		}
	}
	return vals, nil
}
