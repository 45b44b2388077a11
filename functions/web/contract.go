package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The published contract: openapi.yaml, written by hand next to the code it describes,
// served as JSON at GET /v1/openapi.json and as a page at GET /docs. Tests in
// infra/local/contract validate the real handlers against it and fail when a route of
// template.yaml has no path in it.

// OpenAPIPath and DocsPath are the contract's routes (template.yaml, WebFunction).
const (
	OpenAPIPath = "/v1/openapi.json"
	DocsPath    = "/docs"
)

//go:embed openapi.yaml
var openapiYAML []byte

// omap is a YAML mapping that keeps its keys in the order they were written, so that the
// JSON document reads like the YAML one (info first, paths in the order of the API).
type omap struct {
	keys []string
	vals map[string]any
}

func (m *omap) get(k string) any { return m.vals[k] }

// MarshalJSON writes the keys in their order.
func (m *omap) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := marshalJSON(m.vals[k])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<" in a description is text, not markup to hide
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// ordered converts a YAML node into plain values with ordered mappings. Anchors and
// aliases are not used in the document and are refused, so what is served is what is read.
func ordered(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, errors.New("the document must hold one value")
		}
		return ordered(n.Content[0])
	case yaml.MappingNode:
		m := &omap{vals: map[string]any{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m.vals[k]; dup {
				return nil, fmt.Errorf("line %d: key %q twice", n.Content[i].Line, k)
			}
			v, err := ordered(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m.keys = append(m.keys, k)
			m.vals[k] = v
		}
		return m, nil
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := ordered(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int":
			return strconv.ParseInt(n.Value, 0, 64)
		case "!!float":
			return strconv.ParseFloat(n.Value, 64)
		case "!!bool":
			return n.Value == "true", nil
		case "!!null":
			return nil, nil
		}
		return n.Value, nil // strings, and dates written bare (2025-01-01), which JSON keeps as text
	}
	return nil, fmt.Errorf("line %d: anchors and aliases are not used in the contract", n.Line)
}

// contract is the parsed document: its JSON and its page.
type contract struct {
	doc  *omap
	json []byte
}

func loadContract(src []byte) (*contract, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(src, &n); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	v, err := ordered(&n)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	doc, ok := v.(*omap)
	if !ok || !strings.HasPrefix(fmt.Sprint(doc.get("openapi")), "3.1") {
		return nil, errors.New("openapi.yaml: not an OpenAPI 3.1 document")
	}
	var b bytes.Buffer
	raw, err := marshalJSON(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	b.WriteByte('\n')
	return &contract{doc: doc, json: b.Bytes()}, nil
}
