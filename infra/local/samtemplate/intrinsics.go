package samtemplate

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Resolver supplies the values of resources the template refers to: what Ref and
// Fn::GetAtt return for a logical id. The local runtime's resources.Created is one.
type Resolver interface {
	Ref(logicalID string) (string, bool)
	GetAtt(logicalID, attr string) (string, bool)
}

// MapResolver is a Resolver backed by maps; GetAtts is keyed "LogicalId.Attribute".
// Handy in tests and for callers that already know every value.
type MapResolver struct {
	Refs    map[string]string
	GetAtts map[string]string
}

// Ref implements Resolver.
func (m MapResolver) Ref(id string) (string, bool) { v, ok := m.Refs[id]; return v, ok }

// GetAtt implements Resolver.
func (m MapResolver) GetAtt(id, attr string) (string, bool) {
	v, ok := m.GetAtts[id+"."+attr]
	return v, ok
}

// ErrNeedsResolver is returned (wrapped) when a value refers to a resource and no
// Resolver was given: the value can only be known once resources exist.
var ErrNeedsResolver = errors.New("refers to a resource: needs a Resolver")

// noValue is what Ref AWS::NoValue evaluates to: the enclosing key or item is dropped.
type noValue struct{}

// evaluator resolves intrinsics against parameters, pseudo parameters and, when r is
// set, resources.
type evaluator struct {
	params    map[string]any // string, or []any of strings for CommaDelimitedList
	pseudo    map[string]string
	resources map[string]string // logical id -> type
	r         Resolver
}

func (e *evaluator) eval(path string, v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					out, err := e.intrinsic(path, k, arg)
					if err != nil {
						return nil, err
					}
					return out, nil
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, x := range v {
			r, err := e.eval(path+"."+k, x)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			r, err := e.eval(fmt.Sprintf("%s[%d]", path, i), x)
			if err != nil {
				return nil, err
			}
			if _, drop := r.(noValue); !drop {
				out = append(out, r)
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

func (e *evaluator) intrinsic(path, fn string, arg any) (any, error) {
	where := path + ": " + fn
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("%s: want a name, got %T", where, arg)
		}
		return e.ref(where, name)
	case "Fn::GetAtt":
		parts, err := e.strings(where, arg)
		if err != nil {
			return nil, err
		}
		if len(parts) == 1 {
			id, attr, _ := strings.Cut(parts[0], ".")
			parts = []string{id, attr}
		}
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("%s: want [LogicalId, Attribute], got %v", where, arg)
		}
		return e.getAtt(where, parts[0], parts[1])
	case "Fn::Sub":
		return e.sub(where, arg)
	case "Fn::Join":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fmt.Errorf("%s: want [delimiter, [values]]", where)
		}
		delim, ok := args[0].(string)
		if !ok {
			return nil, fmt.Errorf("%s: delimiter must be a string", where)
		}
		list, err := e.eval(where, args[1])
		if err != nil {
			return nil, err
		}
		items, err := e.strings(where, list)
		if err != nil {
			return nil, err
		}
		return strings.Join(items, delim), nil
	case "Fn::Select":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fmt.Errorf("%s: want [index, [values]]", where)
		}
		idxv, err := e.eval(where, args[0])
		if err != nil {
			return nil, err
		}
		idx, err := strconv.Atoi(scalarString(idxv))
		if err != nil {
			return nil, fmt.Errorf("%s: index %v is not a number", where, idxv)
		}
		list, err := e.eval(where, args[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok || idx < 0 || idx >= len(items) {
			return nil, fmt.Errorf("%s: index %d out of range", where, idx)
		}
		return items[idx], nil
	case "Fn::Split":
		args, ok := arg.([]any)
		if !ok || len(args) != 2 {
			return nil, fmt.Errorf("%s: want [delimiter, string]", where)
		}
		delim, _ := args[0].(string)
		sv, err := e.eval(where, args[1])
		if err != nil {
			return nil, err
		}
		s, ok := sv.(string)
		if !ok || delim == "" {
			return nil, fmt.Errorf("%s: want a non-empty delimiter and a string", where)
		}
		var out []any
		for _, p := range strings.Split(s, delim) {
			out = append(out, p)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: intrinsic not supported by the local runtime", where)
	}
}

func (e *evaluator) ref(where, name string) (any, error) {
	if v, ok := e.params[name]; ok {
		return v, nil
	}
	if name == "AWS::NoValue" {
		return noValue{}, nil
	}
	if v, ok := e.pseudo[name]; ok {
		return v, nil
	}
	if _, ok := e.resources[name]; ok {
		if e.r == nil {
			return nil, fmt.Errorf("%s %s %w", where, name, ErrNeedsResolver)
		}
		if v, ok := e.r.Ref(name); ok {
			return v, nil
		}
		return nil, fmt.Errorf("%s %s: resource has no local value (not created?)", where, name)
	}
	return nil, fmt.Errorf("%s %s: no such parameter or resource", where, name)
}

func (e *evaluator) getAtt(where, id, attr string) (any, error) {
	if _, ok := e.resources[id]; !ok {
		return nil, fmt.Errorf("%s %s.%s: no such resource", where, id, attr)
	}
	if e.r == nil {
		return nil, fmt.Errorf("%s %s.%s %w", where, id, attr, ErrNeedsResolver)
	}
	if v, ok := e.r.GetAtt(id, attr); ok {
		return v, nil
	}
	return nil, fmt.Errorf("%s %s.%s: attribute has no local value", where, id, attr)
}

// sub implements Fn::Sub: "${Name}", "${Resource.Attr}", and "${!Literal}" for a literal
// "${Literal}"; an optional map of variables comes first in the lookup.
func (e *evaluator) sub(where string, arg any) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("%s: want string or [string, {vars}]", where)
		}
		s, ok := a[0].(string)
		m, ok2 := a[1].(map[string]any)
		if !ok || !ok2 {
			return nil, fmt.Errorf("%s: want string or [string, {vars}]", where)
		}
		tmpl = s
		for k, v := range m {
			r, err := e.eval(where+"."+k, v)
			if err != nil {
				return nil, err
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("%s: want string or [string, {vars}], got %T", where, arg)
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			return nil, fmt.Errorf("%s: unclosed ${ in %q", where, tmpl)
		}
		name := tmpl[i+2 : i+j]
		tmpl = tmpl[i+j+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, dotted := strings.Cut(name, "."); dotted && e.resources[id] != "" {
			v, err = e.getAtt(where, id, attr)
		} else {
			v, err = e.ref(where, name)
		}
		if err != nil {
			return nil, err
		}
		s, ok := v.(string)
		if !ok {
			s = scalarString(v)
			if s == "" {
				return nil, fmt.Errorf("%s: ${%s} is not a string (a list parameter needs !Join)", where, name)
			}
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// strings reads a list of scalars (a CommaDelimitedList parameter's value included).
func (e *evaluator) strings(where string, v any) ([]string, error) {
	switch v := v.(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			r, err := e.eval(where, x)
			if err != nil {
				return nil, err
			}
			s := scalarString(r)
			if _, isStr := r.(string); !isStr && s == "" {
				return nil, fmt.Errorf("%s: list item %v is not a scalar", where, r)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: want a list, got %T", where, v)
	}
}

// scalarString formats a YAML scalar as CloudFormation would pass it on; "" for
// non-scalars.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		return ""
	}
}

// sortedKeys returns a map's keys in order, so that errors and listings are stable.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
