// Package ddbguard is the local stand-in for IAM's item-level conditions on DynamoDB. A
// function whose template policies limit it with dynamodb:LeadingKeys (the unauthenticated
// public function) talks to DynamoDB Local through a guard that evaluates every request the
// way IAM would for that role: the action, the table or index, and every partition key the
// request names against the statements' ForAllValues:StringLike patterns. A request the
// role could not make in AWS is answered with DynamoDB's AccessDeniedException, so a code
// path that reaches a partition the template does not allow fails locally and in tests,
// not first in production.
//
// What is evaluated: Allow and Deny statements whose Action names dynamodb actions
// (wildcards allowed), their Resource (table and index ARNs, wildcards allowed) and the
// dynamodb:LeadingKeys condition under ForAllValues:StringLike or ForAllValues:StringEquals.
// TransactWriteItems and TransactGetItems are authorised item by item as PutItem,
// UpdateItem, DeleteItem, ConditionCheckItem and GetItem. Other condition keys are not
// evaluated; a statement carrying one fails Compile.
package ddbguard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"

	"github.com/tierflow/tierflow/infra/local/samtemplate"
)

// Statement is one evaluated IAM statement about DynamoDB.
type Statement struct {
	Sid         string
	Allow       bool
	Actions     []string // "dynamodb:GetItem", wildcards allowed
	Resources   []string // ARNs, wildcards allowed
	LeadingKeys []string // patterns; nil = no LeadingKeys condition
	StringLike  bool     // the patterns are StringLike (wildcards), else StringEquals
}

// Policy is what a function's role may do to the table.
type Policy struct {
	Function  string
	Table     samtemplate.Table
	TableARN  string
	Statement []Statement
}

var errUnsupported = errors.New("not evaluated by the local guard")

// Compile reads f's policies. guarded is false when the function needs no guard: some
// policy grants it the table without a LeadingKeys condition (a SAM DynamoDB* policy
// template, or a statement without the condition), or it has no DynamoDB statement at all.
func Compile(t *samtemplate.Template, f samtemplate.Function, r samtemplate.Resolver) (p *Policy, guarded bool, err error) {
	tableARN, _ := r.GetAtt(t.Table.LogicalID, "Arn")
	p = &Policy{Function: f.LogicalID, Table: t.Table, TableARN: tableARN}
	unconditioned := false
	for i, raw := range f.Policies {
		doc, ok := raw.(map[string]any)
		if !ok {
			continue // a managed policy ARN: not about this table's items
		}
		stmts, hasStatements := doc["Statement"]
		if !hasStatements {
			for name := range doc {
				if strings.HasPrefix(name, "DynamoDB") {
					unconditioned = true
				}
			}
			continue
		}
		list, _ := stmts.([]any)
		for j, rawSt := range list {
			st, _ := rawSt.(map[string]any)
			where := fmt.Sprintf("%s Policies[%d].Statement[%d]", f.LogicalID, i, j)
			s, isDDB, err := compileStatement(t, r, st)
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", where, err)
			}
			if !isDDB {
				continue
			}
			if s.Allow && s.LeadingKeys == nil && s.grantsItems() {
				unconditioned = true
			}
			p.Statement = append(p.Statement, s)
		}
	}
	guarded = !unconditioned && len(p.Statement) > 0
	return p, guarded, nil
}

func compileStatement(t *samtemplate.Template, r samtemplate.Resolver, st map[string]any) (Statement, bool, error) {
	s := Statement{Sid: fmt.Sprint(st["Sid"]), Allow: st["Effect"] == "Allow"}
	s.Actions = stringsOf(st["Action"])
	isDDB := false
	for _, a := range s.Actions {
		isDDB = isDDB || strings.HasPrefix(strings.ToLower(a), "dynamodb:") || a == "*"
	}
	if !isDDB {
		return s, false, nil
	}
	res, err := t.Resolve(st["Resource"], r)
	if err != nil {
		return s, true, fmt.Errorf("Resource: %w", err)
	}
	s.Resources = stringsOf(res)
	cond, _ := st["Condition"].(map[string]any)
	for op, body := range cond {
		keys, _ := body.(map[string]any)
		for k, v := range keys {
			if k != "dynamodb:LeadingKeys" {
				return s, true, fmt.Errorf("condition %s %s: %w", op, k, errUnsupported)
			}
			switch op {
			case "ForAllValues:StringLike":
				s.StringLike = true
			case "ForAllValues:StringEquals":
			default:
				return s, true, fmt.Errorf("condition operator %s on dynamodb:LeadingKeys: %w (IAM requires ForAllValues)", op, errUnsupported)
			}
			s.LeadingKeys = append([]string{}, stringsOf(v)...)
		}
	}
	return s, true, nil
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	}
	return nil
}

// itemActions read or write items by key.
var itemActions = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan",
	"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"}

func (s Statement) grantsItems() bool {
	for _, a := range s.Actions {
		for _, item := range itemActions {
			if glob(strings.ToLower(a), strings.ToLower(item)) {
				return true
			}
		}
	}
	return false
}

// Access is one authorisation question: may the role do Action on Resource for these
// partition keys?
type Access struct {
	Action      string // dynamodb:PutItem
	Resource    string // table or index ARN
	LeadingKeys []string
}

// Allowed answers an Access as IAM would: denied unless an Allow statement matches and
// no Deny statement does. ForAllValues over an empty set of keys is true, as in IAM.
func (p *Policy) Allowed(a Access) bool {
	allowed := false
	for _, s := range p.Statement {
		if !s.matches(a) {
			continue
		}
		if !s.Allow {
			return false
		}
		allowed = true
	}
	return allowed
}

func (s Statement) matches(a Access) bool {
	hit := false
	for _, act := range s.Actions {
		hit = hit || glob(strings.ToLower(act), strings.ToLower(a.Action))
	}
	if !hit {
		return false
	}
	hit = false
	for _, res := range s.Resources {
		hit = hit || glob(res, a.Resource)
	}
	if !hit || s.LeadingKeys == nil {
		return hit
	}
	for _, k := range a.LeadingKeys {
		ok := false
		for _, pat := range s.LeadingKeys {
			ok = ok || (s.StringLike && glob(pat, k)) || (!s.StringLike && pat == k)
		}
		if !ok {
			return false
		}
	}
	return true
}

// glob matches IAM patterns: * any run of characters (slashes included), ? one.
func glob(pattern, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(s)
}

// Handler returns a reverse proxy to the DynamoDB endpoint target that lets through only
// what p allows; each refusal is logged to log.
func (p *Policy) Handler(target *url.URL, log *slog.Logger) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(target)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndex(op, ".")+1:]
		accesses, err := p.Accesses(op, body)
		if err == nil {
			for _, a := range accesses {
				if !p.Allowed(a) {
					err = fmt.Errorf("is not authorized to perform: %s on resource: %s for partition keys %v", a.Action, a.Resource, a.LeadingKeys)
					break
				}
			}
		}
		if err != nil {
			log.Warn("local IAM guard refused a DynamoDB request", "function", p.Function, "operation", op, "reason", err.Error())
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"__type":  "com.amazon.coral.service#AccessDeniedException",
				"message": "User: arn:aws:sts::000000000000:assumed-role/" + p.Function + " " + err.Error() + " (local IAM guard, template.yaml Policies)",
			})
			return
		}
		proxy.ServeHTTP(w, r)
	})
}

type attrs map[string]map[string]any

// Accesses lists what one DynamoDB JSON request asks of IAM.
func (p *Policy) Accesses(op string, body []byte) ([]Access, error) {
	var req struct {
		TableName                 string
		IndexName                 string
		Key, Item                 attrs
		KeyConditionExpression    string
		ExpressionAttributeNames  map[string]string
		ExpressionAttributeValues attrs
		KeyConditions             map[string]struct{ AttributeValueList []map[string]any }
		RequestItems              map[string]json.RawMessage
		TransactItems             []map[string]struct {
			TableName string
			Key, Item attrs
		}
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("%s: body is not JSON: %w", op, err)
	}
	one := func(action, table string, keys ...string) Access {
		return Access{Action: "dynamodb:" + action, Resource: p.arn(table, ""), LeadingKeys: keys}
	}
	hash := p.Table.HashKey
	switch op {
	case "GetItem", "DeleteItem", "UpdateItem":
		return []Access{one(op, req.TableName, keyValue(req.Key, hash))}, nil
	case "PutItem":
		return []Access{one(op, req.TableName, keyValue(req.Item, hash))}, nil
	case "Query":
		h := hash
		for _, ix := range append(append([]samtemplate.Index{}, p.Table.GSIs...), p.Table.LSIs...) {
			if ix.Name == req.IndexName {
				h = ix.HashKey
			}
		}
		v := queryHashValue(req.KeyConditionExpression, req.ExpressionAttributeNames, req.ExpressionAttributeValues, h)
		if v == "" && len(req.KeyConditions[h].AttributeValueList) > 0 {
			v, _ = req.KeyConditions[h].AttributeValueList[0]["S"].(string)
		}
		return []Access{{Action: "dynamodb:Query", Resource: p.arn(req.TableName, req.IndexName), LeadingKeys: []string{v}}}, nil
	case "BatchGetItem":
		var out []Access
		for table, raw := range req.RequestItems {
			var b struct{ Keys []attrs }
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, err
			}
			a := one(op, table)
			for _, k := range b.Keys {
				a.LeadingKeys = append(a.LeadingKeys, keyValue(k, hash))
			}
			out = append(out, a)
		}
		return out, nil
	case "BatchWriteItem":
		var out []Access
		for table, raw := range req.RequestItems {
			var b []struct {
				PutRequest    struct{ Item attrs }
				DeleteRequest struct{ Key attrs }
			}
			if err := json.Unmarshal(raw, &b); err != nil {
				return nil, err
			}
			a := one(op, table)
			for _, w := range b {
				if w.PutRequest.Item != nil {
					a.LeadingKeys = append(a.LeadingKeys, keyValue(w.PutRequest.Item, hash))
				} else {
					a.LeadingKeys = append(a.LeadingKeys, keyValue(w.DeleteRequest.Key, hash))
				}
			}
			out = append(out, a)
		}
		return out, nil
	case "TransactWriteItems", "TransactGetItems":
		actions := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		var out []Access
		for _, ti := range req.TransactItems {
			for kind, it := range ti {
				action, ok := actions[kind]
				if !ok {
					return nil, fmt.Errorf("%s: unknown item kind %s", op, kind)
				}
				k := it.Key
				if kind == "Put" {
					k = it.Item
				}
				out = append(out, one(action, it.TableName, keyValue(k, hash)))
			}
		}
		return out, nil
	default: // DescribeTable, Scan, ...: no item keys
		return []Access{{Action: "dynamodb:" + op, Resource: p.arn(req.TableName, req.IndexName)}}, nil
	}
}

// arn is the resource a request names: the table (by name or ARN) or one of its indexes.
func (p *Policy) arn(table, index string) string {
	arn := table
	if !strings.HasPrefix(table, "arn:") {
		arn = p.TableARN[:strings.LastIndex(p.TableARN, "/")+1] + table // ...:table/<name>
	}
	if index != "" {
		arn += "/index/" + index
	}
	return arn
}

func keyValue(a attrs, hash string) string {
	v := a[hash]
	for _, t := range []string{"S", "N", "B"} {
		if s, ok := v[t].(string); ok {
			return s
		}
	}
	return ""
}

var equality = regexp.MustCompile(`([#A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(:[A-Za-z0-9_]+)`)

// queryHashValue finds "<hash> = :v" in a key condition expression.
func queryHashValue(expr string, names map[string]string, values attrs, hash string) string {
	for _, m := range equality.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if n, ok := names[name]; ok {
			name = n
		}
		if name == hash {
			return keyValue(attrs{"v": values[m[2]]}, "v")
		}
	}
	return ""
}
