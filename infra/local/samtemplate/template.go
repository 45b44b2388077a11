package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Template is what the local runtime needs from template.yaml, with parameters resolved.
type Template struct {
	Path string // the file Load read
	Root string // its folder: function folders (Dir) are relative to it

	// Params holds every parameter's value: its default, or the override. A
	// CommaDelimitedList is joined with ",".
	Params map[string]string
	// Pseudo holds the pseudo parameters (AWS::Region, AWS::AccountId, ...) as the local
	// runtime answers them.
	Pseudo map[string]string
	// Resources maps every logical id to its type, including ones the local runtime has
	// no emulator for (the KMS key): a Resolver must still answer Ref for those it uses.
	Resources map[string]string

	Table     Table
	Queues    []Queue    // sorted by logical id
	Functions []Function // sorted by logical id
	API       HTTPAPI

	ev *evaluator
}

// Table is the template's one AWS::DynamoDB::Table.
type Table struct {
	LogicalID, Name string
	BillingMode     string // PAY_PER_REQUEST or PROVISIONED
	Attributes      []Attribute
	HashKey         string
	RangeKey        string // "" when the table has no sort key
	GSIs            []Index
	LSIs            []Index
	TTLAttribute    string // "" when TTL is not enabled
	StreamViewType  string // "" when streams are off
}

// Attribute is one AttributeDefinitions entry (Type S, N or B).
type Attribute struct{ Name, Type string }

// Index is a global or local secondary index.
type Index struct {
	Name              string
	HashKey, RangeKey string
	Projection        string // ALL, KEYS_ONLY or INCLUDE
	NonKeyAttributes  []string
}

// Queue is an AWS::SQS::Queue.
type Queue struct {
	LogicalID, Name   string
	VisibilityTimeout time.Duration // 30s when the template does not say
	MessageRetention  time.Duration // 4 days when the template does not say
	Delay             time.Duration
	ReceiveWait       time.Duration
	FIFO              bool
	DLQ               string // logical id of the dead-letter queue, "" if none
	MaxReceiveCount   int
	IsDLQ             bool // another queue's RedrivePolicy points here
}

// HTTPAPI is the AWS::Serverless::HttpApi the routes belong to.
type HTTPAPI struct {
	LogicalID         string
	StageName         string
	CORS              CORS
	Authorizers       map[string]Authorizer
	DefaultAuthorizer string // applied to routes that do not name one; "" for none
}

// CORS is the HTTP API's CorsConfiguration.
type CORS struct {
	AllowOrigins, AllowMethods, AllowHeaders, ExposeHeaders []string
	AllowCredentials                                        bool
	MaxAge                                                  int // seconds; 0 = header not sent
}

// Authorizer is an authorizer of the HTTP API: a JWT authorizer, or a Lambda authorizer
// when Lambda is set.
type Authorizer struct {
	Name           string
	IdentitySource string // e.g. $request.header.Authorization
	Issuer         string
	Audience       []string
	Lambda         *LambdaAuthorizer
}

// JWTAuthorizer is the former name of Authorizer.
type JWTAuthorizer = Authorizer

// LambdaAuthorizer is a REQUEST authorizer function (payload format 2.0, simple
// responses), its answer cached per identity for TTL.
type LambdaAuthorizer struct {
	Function string   // logical id of the authorizer function
	Headers  []string // identity headers: a request without one is 401 before the function runs
	TTL      time.Duration
}

// Function is an AWS::Serverless::Function with Globals applied.
type Function struct {
	LogicalID     string
	Dir           string // "functions/public-api": kebab-case of the id without "Function"
	Description   string
	Timeout       time.Duration
	MemoryMB      int
	Handler       string
	Runtime       string
	Architectures []string
	CodeURI       string
	BuildMethod   string // Metadata.BuildMethod ("makefile")

	Routes    []Route
	SQS       []SQSEvent
	Schedules []Schedule
	// Pushed are the events AWS services push to the function asynchronously
	// (EventBridgeRule, SNS): nothing produces them locally, so `tierflow-local invoke`
	// (make invoke) delivers their samples from events/.
	Pushed []PushedEvent
	// DLQ is the queue of the function's DeadLetterQueue (asynchronous invocations that
	// failed every retry), "" if none.
	DLQ string

	// Policies is the function's Policies list as written (intrinsics unresolved): SAM
	// policy templates ({DynamoDBCrudPolicy: ...}), managed policy ARNs and
	// {Statement: [...]} documents. The local runtime enforces the DynamoDB statements
	// that carry a dynamodb:LeadingKeys condition (infra/local/ddbguard).
	Policies []any

	env map[string]any // Globals + function variables, unresolved
	ev  *evaluator
}

// Route is an HttpApi event.
type Route struct {
	Name       string // the event's name in the template
	Method     string // upper case; ANY matches every method
	Path       string // "/v1/customers/{id}", "{proxy+}" allowed
	Authorizer string // "StaffJwt", or "" for none (Auth: {Authorizer: NONE})
	Scopes     []string
	Function   string // logical id of the function
}

// SQSEvent is an SQS event source mapping.
type SQSEvent struct {
	Name                    string
	Queue                   string // logical id of the queue
	BatchSize               int    // 10 when the template does not say
	Window                  time.Duration
	ReportBatchItemFailures bool
	MaxConcurrency          int // ScalingConfig.MaximumConcurrency; 0 = not set
	Enabled                 bool
}

// Schedule is a ScheduleV2 (EventBridge Scheduler) or Schedule (EventBridge rule) event.
type Schedule struct {
	Name       string
	Type       string // ScheduleV2 or Schedule
	Expression string // "cron(0 2 * * ? *)", "rate(5 minutes)" or "at(...)"
	TimeZone   string // IANA name; "" means UTC (always so for Type Schedule)
	Input      string // the JSON the function receives; "" = the scheduler's own event
	Enabled    bool
}

// PushedEvent is an EventBridgeRule or SNS event of a function.
type PushedEvent struct {
	Name string
	Type string // EventBridgeRule or SNS
}

// DefaultPseudo are the pseudo parameter values the local runtime answers with.
var DefaultPseudo = map[string]string{
	"AWS::Region":    "us-east-1",
	"AWS::AccountId": "000000000000",
	"AWS::Partition": "aws",
	"AWS::URLSuffix": "amazonaws.com",
	"AWS::StackName": "tierflow-local",
	"AWS::StackId":   "arn:aws:cloudformation:us-east-1:000000000000:stack/tierflow-local/local",
}

// Load reads a SAM template. overrides are parameter values, as with
// `sam deploy --parameter-overrides`; a name the template does not declare is an error.
func Load(path string, overrides map[string]string) (*Template, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read SAM template: %w", err)
	}
	t, err := Parse(raw, overrides)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	t.Path = path
	t.Root = filepath.Dir(path)
	return t, nil
}

// Parse is Load for template text already in memory.
func Parse(src []byte, overrides map[string]string) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	v, err := toValue(&doc)
	if err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("template is not a mapping")
	}
	t := &Template{Params: map[string]string{}, Pseudo: map[string]string{}, Resources: map[string]string{}}
	for k, v := range DefaultPseudo {
		t.Pseudo[k] = v
	}
	ev := &evaluator{params: map[string]any{}, pseudo: t.Pseudo, resources: t.Resources}
	t.ev = ev
	if err := t.readParams(mapOf(root["Parameters"]), overrides); err != nil {
		return nil, err
	}
	resources := mapOf(root["Resources"])
	if len(resources) == 0 {
		return nil, fmt.Errorf("template has no Resources")
	}
	for _, id := range sortedKeys(resources) {
		typ, _ := mapOf(resources[id])["Type"].(string)
		t.Resources[id] = typ
	}
	globals := mapOf(mapOf(root["Globals"])["Function"])

	var tables, apis int
	for _, id := range sortedKeys(resources) {
		res := mapOf(resources[id])
		props := mapOf(res["Properties"])
		path := "Resources." + id + ".Properties"
		var err error
		switch t.Resources[id] {
		case "AWS::DynamoDB::Table":
			tables++
			t.Table, err = t.readTable(id, path, props)
		case "AWS::SQS::Queue":
			var q Queue
			q, err = t.readQueue(id, path, props)
			t.Queues = append(t.Queues, q)
		case "AWS::Serverless::HttpApi":
			apis++
			t.API, err = t.readAPI(id, path, props)
		}
		if err != nil {
			return nil, err
		}
	}
	if tables > 1 {
		return nil, fmt.Errorf("template has %d DynamoDB tables; the local runtime supports one (single-table design)", tables)
	}
	if apis > 1 {
		return nil, fmt.Errorf("template has %d HTTP APIs; the local runtime serves one", apis)
	}
	for _, id := range sortedKeys(resources) {
		if t.Resources[id] != "AWS::Serverless::Function" {
			continue
		}
		res := mapOf(resources[id])
		f, err := t.readFunction(id, globals, res)
		if err != nil {
			return nil, err
		}
		t.Functions = append(t.Functions, f)
	}
	return t, t.link()
}

// link checks cross references (redrive targets, event queues) and marks DLQs.
func (t *Template) link() error {
	for _, f := range t.Functions {
		if f.DLQ == "" {
			continue
		}
		j := t.queueIndex(f.DLQ)
		if j < 0 {
			return fmt.Errorf("function %s: DeadLetterQueue targets %s, which is not an AWS::SQS::Queue", f.LogicalID, f.DLQ)
		}
		t.Queues[j].IsDLQ = true
	}
	for i, q := range t.Queues {
		if q.DLQ == "" {
			continue
		}
		j := t.queueIndex(q.DLQ)
		if j < 0 {
			return fmt.Errorf("queue %s: RedrivePolicy targets %s, which is not an AWS::SQS::Queue", q.LogicalID, q.DLQ)
		}
		t.Queues[j].IsDLQ = true
		if q.MaxReceiveCount < 1 {
			return fmt.Errorf("queue %s: RedrivePolicy needs maxReceiveCount >= 1", t.Queues[i].LogicalID)
		}
	}
	for _, f := range t.Functions {
		for _, e := range f.SQS {
			if t.queueIndex(e.Queue) < 0 {
				return fmt.Errorf("function %s event %s: queue %s is not an AWS::SQS::Queue", f.LogicalID, e.Name, e.Queue)
			}
		}
		for _, r := range f.Routes {
			if r.Authorizer != "" {
				if _, ok := t.API.Authorizers[r.Authorizer]; !ok {
					return fmt.Errorf("function %s route %s: authorizer %s is not defined on the HTTP API", f.LogicalID, r.Name, r.Authorizer)
				}
			}
		}
	}
	return nil
}

func (t *Template) queueIndex(id string) int {
	for i, q := range t.Queues {
		if q.LogicalID == id {
			return i
		}
	}
	return -1
}

// Queue returns the queue with this logical id.
func (t *Template) Queue(logicalID string) (Queue, bool) {
	if i := t.queueIndex(logicalID); i >= 0 {
		return t.Queues[i], true
	}
	return Queue{}, false
}

// Function returns the function with this logical id.
func (t *Template) Function(logicalID string) (Function, bool) {
	for _, f := range t.Functions {
		if f.LogicalID == logicalID {
			return f, true
		}
	}
	return Function{}, false
}

// Routes returns every route of every function, ordered by path then method.
func (t *Template) Routes() []Route {
	var out []Route
	for _, f := range t.Functions {
		out = append(out, f.Routes...)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// Resolve evaluates any template value (for example an Outputs entry) with r for
// resource references.
func (t *Template) Resolve(v any, r Resolver) (any, error) {
	ev := *t.ev
	ev.r = r
	return ev.eval("value", v)
}

// Environment returns the function's environment variables (Globals merged with its
// own, its own winning), with r answering resource references.
func (f Function) Environment(r Resolver) (map[string]string, error) {
	ev := *f.ev
	ev.r = r
	out := make(map[string]string, len(f.env))
	for _, k := range sortedKeys(f.env) {
		path := "Resources." + f.LogicalID + ".Environment." + k
		v, err := ev.eval(path, f.env[k])
		if err != nil {
			return nil, err
		}
		if _, drop := v.(noValue); drop {
			continue
		}
		s := scalarString(v)
		if _, isStr := v.(string); !isStr && s == "" {
			return nil, fmt.Errorf("%s: value is a %T, not a string (a list parameter needs !Join)", path, v)
		}
		out[k] = s
	}
	return out, nil
}

// FolderFor is the convention from logical id to source folder:
// PublicApiFunction -> functions/public-api.
func FolderFor(logicalID string) string {
	name := strings.TrimSuffix(logicalID, "Function")
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || (unicode.IsUpper(rs[i-1]) && nextLower) {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return "functions/" + b.String()
}

// ---------------------------------------------------------------- parameters

func (t *Template) readParams(params map[string]any, overrides map[string]string) error {
	for name := range overrides {
		if _, ok := params[name]; !ok {
			return fmt.Errorf("parameter override %s: the template declares no such parameter (have %s)",
				name, strings.Join(sortedKeys(params), ", "))
		}
	}
	for _, name := range sortedKeys(params) {
		p := mapOf(params[name])
		val, ok := overrides[name]
		if !ok {
			d, has := p["Default"]
			if !has {
				return fmt.Errorf("parameter %s has no Default: pass a value for it", name)
			}
			val = scalarString(d)
		}
		if allowed, ok := p["AllowedValues"].([]any); ok && len(allowed) > 0 {
			found := false
			for _, a := range allowed {
				found = found || scalarString(a) == val
			}
			if !found {
				return fmt.Errorf("parameter %s = %q: not one of its AllowedValues %v", name, val, allowed)
			}
		}
		if pat, ok := p["AllowedPattern"].(string); ok && pat != "" {
			re, err := regexp.Compile("^(?:" + pat + ")$")
			if err != nil {
				return fmt.Errorf("parameter %s: AllowedPattern: %w", name, err)
			}
			if !re.MatchString(val) {
				return fmt.Errorf("parameter %s = %q: does not match AllowedPattern %s", name, val, pat)
			}
		}
		t.Params[name] = val
		typ, _ := p["Type"].(string)
		if typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var items []any
			if val != "" {
				for _, s := range strings.Split(val, ",") {
					items = append(items, strings.TrimSpace(s))
				}
			}
			t.ev.params[name] = items
		} else {
			t.ev.params[name] = val
		}
	}
	return nil
}

// ---------------------------------------------------------------- resources

func (t *Template) readTable(id, path string, p map[string]any) (Table, error) {
	tb := Table{LogicalID: id}
	var err error
	if tb.Name, err = t.str(path+".TableName", p["TableName"], id); err != nil {
		return tb, err
	}
	tb.BillingMode, _ = p["BillingMode"].(string)
	if tb.BillingMode == "" {
		tb.BillingMode = "PROVISIONED"
	}
	for _, a := range listOf(p["AttributeDefinitions"]) {
		m := mapOf(a)
		tb.Attributes = append(tb.Attributes, Attribute{Name: str(m["AttributeName"]), Type: str(m["AttributeType"])})
	}
	tb.HashKey, tb.RangeKey = keySchema(p["KeySchema"])
	if tb.HashKey == "" {
		return tb, fmt.Errorf("%s.KeySchema: no HASH key", path)
	}
	for key, dst := range map[string]*[]Index{"GlobalSecondaryIndexes": &tb.GSIs, "LocalSecondaryIndexes": &tb.LSIs} {
		for _, x := range listOf(p[key]) {
			m := mapOf(x)
			ix := Index{Name: str(m["IndexName"])}
			ix.HashKey, ix.RangeKey = keySchema(m["KeySchema"])
			proj := mapOf(m["Projection"])
			ix.Projection = str(proj["ProjectionType"])
			if ix.Projection == "" {
				ix.Projection = "ALL"
			}
			for _, a := range listOf(proj["NonKeyAttributes"]) {
				ix.NonKeyAttributes = append(ix.NonKeyAttributes, str(a))
			}
			if ix.Name == "" || ix.HashKey == "" {
				return tb, fmt.Errorf("%s.%s: index needs IndexName and a HASH key", path, key)
			}
			*dst = append(*dst, ix)
		}
	}
	if ttl := mapOf(p["TimeToLiveSpecification"]); ttl != nil {
		enabled, err := t.boolean(path+".TimeToLiveSpecification.Enabled", ttl["Enabled"], false)
		if err != nil {
			return tb, err
		}
		if enabled {
			tb.TTLAttribute = str(ttl["AttributeName"])
		}
	}
	tb.StreamViewType = str(mapOf(p["StreamSpecification"])["StreamViewType"])
	return tb, nil
}

func keySchema(v any) (hash, rng string) {
	for _, k := range listOf(v) {
		m := mapOf(k)
		switch str(m["KeyType"]) {
		case "HASH":
			hash = str(m["AttributeName"])
		case "RANGE":
			rng = str(m["AttributeName"])
		}
	}
	return hash, rng
}

func (t *Template) readQueue(id, path string, p map[string]any) (Queue, error) {
	q := Queue{LogicalID: id}
	var err error
	if q.Name, err = t.str(path+".QueueName", p["QueueName"], id); err != nil {
		return q, err
	}
	secs := []struct {
		key string
		def int
		dst *time.Duration
	}{
		{"VisibilityTimeout", 30, &q.VisibilityTimeout},
		{"MessageRetentionPeriod", 345600, &q.MessageRetention},
		{"DelaySeconds", 0, &q.Delay},
		{"ReceiveMessageWaitTimeSeconds", 0, &q.ReceiveWait},
	}
	for _, s := range secs {
		n, err := t.integer(path+"."+s.key, p[s.key], s.def)
		if err != nil {
			return q, err
		}
		*s.dst = time.Duration(n) * time.Second
	}
	if q.FIFO, err = t.boolean(path+".FifoQueue", p["FifoQueue"], false); err != nil {
		return q, err
	}
	if rp := mapOf(p["RedrivePolicy"]); rp != nil {
		target, ok := logicalTarget(rp["deadLetterTargetArn"])
		if !ok {
			return q, fmt.Errorf("%s.RedrivePolicy.deadLetterTargetArn: want !GetAtt <Queue>.Arn", path)
		}
		q.DLQ = target
		if q.MaxReceiveCount, err = t.integer(path+".RedrivePolicy.maxReceiveCount", rp["maxReceiveCount"], 0); err != nil {
			return q, err
		}
	}
	return q, nil
}

// logicalTarget reads the logical id out of !GetAtt X.Arn or !Ref X without resolving it.
func logicalTarget(v any) (string, bool) {
	m := mapOf(v)
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
		return str(ga[0]), true
	}
	if r, ok := m["Ref"].(string); ok {
		return r, true
	}
	return "", false
}

func (t *Template) readAPI(id, path string, p map[string]any) (HTTPAPI, error) {
	api := HTTPAPI{LogicalID: id, Authorizers: map[string]Authorizer{}}
	var err error
	if api.StageName, err = t.str(path+".StageName", p["StageName"], "$default"); err != nil {
		return api, err
	}
	if c := mapOf(p["CorsConfiguration"]); c != nil {
		cp := path + ".CorsConfiguration"
		lists := map[string]*[]string{
			"AllowOrigins": &api.CORS.AllowOrigins, "AllowMethods": &api.CORS.AllowMethods,
			"AllowHeaders": &api.CORS.AllowHeaders, "ExposeHeaders": &api.CORS.ExposeHeaders,
		}
		for key, dst := range lists {
			if *dst, err = t.list(cp+"."+key, c[key]); err != nil {
				return api, err
			}
		}
		if api.CORS.MaxAge, err = t.integer(cp+".MaxAge", c["MaxAge"], 0); err != nil {
			return api, err
		}
		if api.CORS.AllowCredentials, err = t.boolean(cp+".AllowCredentials", c["AllowCredentials"], false); err != nil {
			return api, err
		}
	}
	auth := mapOf(p["Auth"])
	api.DefaultAuthorizer = str(auth["DefaultAuthorizer"])
	authorizers := mapOf(auth["Authorizers"])
	for _, name := range sortedKeys(authorizers) {
		a := mapOf(authorizers[name])
		ap := path + ".Auth.Authorizers." + name
		if a["FunctionArn"] != nil {
			la, err := t.readLambdaAuthorizer(ap, a)
			if err != nil {
				return api, err
			}
			api.Authorizers[name] = Authorizer{Name: name, Lambda: la}
			continue
		}
		jwt := mapOf(a["JwtConfiguration"])
		if jwt == nil {
			return api, fmt.Errorf("%s: only JWT and Lambda authorizers are supported locally", ap)
		}
		ja := JWTAuthorizer{Name: name, IdentitySource: str(a["IdentitySource"])}
		if ja.IdentitySource == "" {
			ja.IdentitySource = "$request.header.Authorization"
		}
		if ja.Issuer, err = t.str(ap+".issuer", first(jwt, "issuer", "Issuer"), ""); err != nil {
			return api, err
		}
		if ja.Audience, err = t.list(ap+".audience", first(jwt, "audience", "Audience")); err != nil {
			return api, err
		}
		api.Authorizers[name] = ja
	}
	if api.DefaultAuthorizer != "" {
		if _, ok := api.Authorizers[api.DefaultAuthorizer]; !ok {
			return api, fmt.Errorf("%s.Auth.DefaultAuthorizer %s is not among its Authorizers", path, api.DefaultAuthorizer)
		}
	}
	return api, nil
}

// readLambdaAuthorizer reads a SAM LambdaAuthorizer of an HttpApi. Only what the API's
// key authorizer uses is supported: payload 2.0, simple responses, header identity.
func (t *Template) readLambdaAuthorizer(ap string, a map[string]any) (*LambdaAuthorizer, error) {
	fn := ""
	switch g := mapOf(a["FunctionArn"])["Fn::GetAtt"].(type) {
	case string:
		if id, attr, _ := strings.Cut(g, "."); attr == "Arn" {
			fn = id
		}
	case []any:
		if len(g) == 2 && g[1] == "Arn" {
			fn, _ = g[0].(string)
		}
	}
	if fn == "" {
		return nil, fmt.Errorf("%s.FunctionArn: want !GetAtt <Function>.Arn", ap)
	}
	if v := str(a["AuthorizerPayloadFormatVersion"]); v != "2.0" {
		return nil, fmt.Errorf("%s.AuthorizerPayloadFormatVersion: want \"2.0\", got %q", ap, v)
	}
	if simple, err := t.boolean(ap+".EnableSimpleResponses", a["EnableSimpleResponses"], false); err != nil || !simple {
		return nil, fmt.Errorf("%s.EnableSimpleResponses: want true (%v)", ap, err)
	}
	id := mapOf(a["Identity"])
	headers, err := t.list(ap+".Identity.Headers", id["Headers"])
	if err != nil {
		return nil, err
	}
	if len(headers) == 0 {
		return nil, fmt.Errorf("%s.Identity.Headers: name the header the identity is read from", ap)
	}
	ttl, err := t.integer(ap+".Identity.ReauthorizeEvery", id["ReauthorizeEvery"], 300)
	if err != nil {
		return nil, err
	}
	return &LambdaAuthorizer{Function: fn, Headers: headers, TTL: time.Duration(ttl) * time.Second}, nil
}

func (t *Template) readFunction(id string, globals, res map[string]any) (Function, error) {
	props := mapOf(res["Properties"])
	path := "Resources." + id + ".Properties"
	f := Function{LogicalID: id, Dir: FolderFor(id), ev: t.ev, env: map[string]any{}}
	get := func(key string) any {
		if v, ok := props[key]; ok {
			return v
		}
		return globals[key]
	}
	var err error
	secs, err := t.integer(path+".Timeout", get("Timeout"), 3)
	if err != nil {
		return f, err
	}
	f.Timeout = time.Duration(secs) * time.Second
	if f.MemoryMB, err = t.integer(path+".MemorySize", get("MemorySize"), 128); err != nil {
		return f, err
	}
	for key, dst := range map[string]*string{"Handler": &f.Handler, "Runtime": &f.Runtime, "CodeUri": &f.CodeURI, "Description": &f.Description} {
		if *dst, err = t.str(path+"."+key, get(key), ""); err != nil {
			return f, err
		}
	}
	if f.Architectures, err = t.list(path+".Architectures", get("Architectures")); err != nil {
		return f, err
	}
	if len(f.Architectures) == 0 {
		f.Architectures = []string{"x86_64"}
	}
	f.BuildMethod = str(mapOf(res["Metadata"])["BuildMethod"])
	if dlq := mapOf(props["DeadLetterQueue"]); dlq != nil {
		q, ok := logicalTarget(dlq["TargetArn"])
		if !ok || str(dlq["Type"]) != "SQS" {
			return f, fmt.Errorf("%s.DeadLetterQueue: want {Type: SQS, TargetArn: !GetAtt <Queue>.Arn}", path)
		}
		f.DLQ = q
	}
	f.Policies = listOf(props["Policies"])
	for k, v := range mapOf(mapOf(globals["Environment"])["Variables"]) {
		f.env[k] = v
	}
	for k, v := range mapOf(mapOf(props["Environment"])["Variables"]) {
		f.env[k] = v
	}
	events := mapOf(props["Events"])
	for _, name := range sortedKeys(events) {
		ev := mapOf(events[name])
		ep := path + ".Events." + name + ".Properties"
		p := mapOf(ev["Properties"])
		switch typ := str(ev["Type"]); typ {
		case "HttpApi":
			r, err := t.readRoute(f.LogicalID, name, ep, p)
			if err != nil {
				return f, err
			}
			f.Routes = append(f.Routes, r)
		case "SQS":
			e, err := t.readSQS(name, ep, p)
			if err != nil {
				return f, err
			}
			f.SQS = append(f.SQS, e)
		case "ScheduleV2", "Schedule":
			s, err := t.readSchedule(name, typ, ep, p)
			if err != nil {
				return f, err
			}
			f.Schedules = append(f.Schedules, s)
		case "EventBridgeRule", "SNS":
			f.Pushed = append(f.Pushed, PushedEvent{Name: name, Type: typ})
		default:
			return f, fmt.Errorf("%s: event type %q is not supported by the local runtime (HttpApi, SQS, ScheduleV2, Schedule, EventBridgeRule, SNS are)", ep, typ)
		}
	}
	return f, nil
}

func (t *Template) readRoute(fn, name, path string, p map[string]any) (Route, error) {
	r := Route{Name: name, Function: fn}
	if api, ok := logicalTarget(p["ApiId"]); ok && t.API.LogicalID != "" && api != t.API.LogicalID {
		return r, fmt.Errorf("%s.ApiId: %s is not the template's HTTP API %s", path, api, t.API.LogicalID)
	}
	var err error
	if r.Method, err = t.str(path+".Method", p["Method"], "ANY"); err != nil {
		return r, err
	}
	r.Method = strings.ToUpper(r.Method)
	if r.Path, err = t.str(path+".Path", p["Path"], ""); err != nil {
		return r, err
	}
	if r.Path == "" {
		return r, fmt.Errorf("%s.Path: missing", path)
	}
	auth := mapOf(p["Auth"])
	r.Authorizer = t.API.DefaultAuthorizer
	if a, ok := auth["Authorizer"]; ok {
		r.Authorizer = str(a)
	}
	if r.Authorizer == "NONE" {
		r.Authorizer = ""
	}
	if r.Scopes, err = t.list(path+".Auth.AuthorizationScopes", auth["AuthorizationScopes"]); err != nil {
		return r, err
	}
	return r, nil
}

func (t *Template) readSQS(name, path string, p map[string]any) (SQSEvent, error) {
	e := SQSEvent{Name: name}
	q, ok := logicalTarget(p["Queue"])
	if !ok {
		return e, fmt.Errorf("%s.Queue: want !GetAtt <Queue>.Arn", path)
	}
	e.Queue = q
	var err error
	if e.BatchSize, err = t.integer(path+".BatchSize", p["BatchSize"], 10); err != nil {
		return e, err
	}
	secs, err := t.integer(path+".MaximumBatchingWindowInSeconds", p["MaximumBatchingWindowInSeconds"], 0)
	if err != nil {
		return e, err
	}
	e.Window = time.Duration(secs) * time.Second
	types, err := t.list(path+".FunctionResponseTypes", p["FunctionResponseTypes"])
	if err != nil {
		return e, err
	}
	for _, ft := range types {
		e.ReportBatchItemFailures = e.ReportBatchItemFailures || ft == "ReportBatchItemFailures"
	}
	if e.MaxConcurrency, err = t.integer(path+".ScalingConfig.MaximumConcurrency", mapOf(p["ScalingConfig"])["MaximumConcurrency"], 0); err != nil {
		return e, err
	}
	if e.Enabled, err = t.boolean(path+".Enabled", p["Enabled"], true); err != nil {
		return e, err
	}
	return e, nil
}

func (t *Template) readSchedule(name, typ, path string, p map[string]any) (Schedule, error) {
	s := Schedule{Name: name, Type: typ}
	var err error
	exprKey := "ScheduleExpression"
	if typ == "Schedule" {
		exprKey = "Schedule"
	}
	if s.Expression, err = t.str(path+"."+exprKey, p[exprKey], ""); err != nil {
		return s, err
	}
	if s.Expression == "" {
		return s, fmt.Errorf("%s.%s: missing", path, exprKey)
	}
	if typ == "ScheduleV2" {
		if s.TimeZone, err = t.str(path+".ScheduleExpressionTimezone", p["ScheduleExpressionTimezone"], ""); err != nil {
			return s, err
		}
		if s.TimeZone != "" {
			if _, err := time.LoadLocation(s.TimeZone); err != nil {
				return s, fmt.Errorf("%s.ScheduleExpressionTimezone: %w", path, err)
			}
		}
	}
	if s.Input, err = t.str(path+".Input", p["Input"], ""); err != nil {
		return s, err
	}
	s.Enabled = true
	if st, ok := p["State"]; ok {
		state, err := t.str(path+".State", st, "ENABLED")
		if err != nil {
			return s, err
		}
		s.Enabled = state != "DISABLED"
	}
	if en, ok := p["Enabled"]; ok {
		if s.Enabled, err = t.boolean(path+".Enabled", en, true); err != nil {
			return s, err
		}
	}
	return s, nil
}

// ---------------------------------------------------------------- value helpers

// str evaluates v (parameters only) as a string; def when v is absent.
func (t *Template) str(path string, v any, def string) (string, error) {
	if v == nil {
		return def, nil
	}
	r, err := t.ev.eval(path, v)
	if err != nil {
		return "", err
	}
	s := scalarString(r)
	if _, isStr := r.(string); !isStr && s == "" {
		return "", fmt.Errorf("%s: want a string, got %T", path, r)
	}
	return s, nil
}

func (t *Template) integer(path string, v any, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	s, err := t.str(path, v, "")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %q is not a whole number", path, s)
	}
	return n, nil
}

func (t *Template) boolean(path string, v any, def bool) (bool, error) {
	if v == nil {
		return def, nil
	}
	s, err := t.str(path, v, "")
	if err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s: %q is not true or false", path, s)
	}
	return b, nil
}

func (t *Template) list(path string, v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	r, err := t.ev.eval(path, v)
	if err != nil {
		return nil, err
	}
	return t.ev.strings(path, r)
}

func mapOf(v any) map[string]any { m, _ := v.(map[string]any); return m }
func listOf(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string           { return scalarString(v) }

func first(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// ReadParams reads parameter overrides from a JSON object of name to value, such as
// infra/local/params.local.json. Numbers and booleans are taken as their text.
func ReadParams(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read parameter overrides: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of parameter name to value: %w", path, err)
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s := scalarString(v); s != "" || v == "" {
			out[k] = s
			continue
		}
		if list, ok := v.([]any); ok { // a CommaDelimitedList may be written as an array
			var parts []string
			for _, x := range list {
				parts = append(parts, scalarString(x))
			}
			out[k] = strings.Join(parts, ",")
			continue
		}
		return nil, fmt.Errorf("%s: parameter %s: want a string, number, boolean or list", path, k)
	}
	return out, nil
}
