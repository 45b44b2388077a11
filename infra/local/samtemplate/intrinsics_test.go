package samtemplate

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

const miniTemplate = `
Parameters:
  Stage: { Type: String, Default: dev, AllowedPattern: "[a-z0-9-]+" }
  Zone: { Type: String, Default: Europe/London }
  Origins: { Type: CommaDelimitedList, Default: "https://a.example,https://b.example" }
  Level: { Type: String, Default: INFO, AllowedValues: [DEBUG, INFO] }
Globals:
  Function:
    Timeout: 10
    Environment:
      Variables:
        STAGE: !Ref Stage
        TABLE: !Ref Table
        SHARED: global
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub app-${Stage}
      AttributeDefinitions: [{ AttributeName: PK, AttributeType: S }]
      KeySchema: [{ AttributeName: PK, KeyType: HASH }]
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Join ["-", [app, !Ref Stage, work]]
      RedrivePolicy: { deadLetterTargetArn: !GetAtt WorkDLQ.Arn, maxReceiveCount: 2 }
  WorkDLQ:
    Type: AWS::SQS::Queue
    Properties:
      QueueName:
        Fn::Sub: app-${Stage}-dlq
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration: { AllowOrigins: !Ref Origins, MaxAge: 60 }
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt: { JwtConfiguration: { issuer: !Sub "https://issuer/${Stage}", audience: [aud] } }
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      Timeout: 30
      Environment:
        Variables:
          SHARED: own
          QUEUE_URL: !Ref Work
          QUEUE_ARN: { "Fn::GetAtt": [Work, Arn] }
          ORIGINS: !Join [",", !Ref Origins]
          FIRST_ORIGIN: !Select [0, !Ref Origins]
          HOST: !Select [1, !Split ["//", !Select [1, !Ref Origins]]]
          SUBBED: !Sub "${Work.QueueName} in ${AWS::Region} costs ${!Literal}"
          SUBLIST: !Sub ["${Greeting}, ${Stage}", { Greeting: hello }]
          DROPPED: !Ref AWS::NoValue
          COUNT: 8
      Events:
        Get: { Type: HttpApi, Properties: { ApiId: !Ref Api, Method: get, Path: /x } }
        Open: { Type: HttpApi, Properties: { Method: POST, Path: /y, Auth: { Authorizer: NONE } } }
        Msgs: { Type: SQS, Properties: { Queue: !GetAtt Work.Arn, FunctionResponseTypes: [ReportBatchItemFailures] } }
        Tick: { Type: ScheduleV2, Properties: { ScheduleExpression: rate(1 minute), ScheduleExpressionTimezone: !Ref Zone } }
`

func TestParametersResolveAtLoad(t *testing.T) {
	tp, err := Parse([]byte(miniTemplate), map[string]string{"Stage": "local"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"override wins over default", tp.Params["Stage"], "local"},
		{"default used when not overridden", tp.Params["Level"], "INFO"},
		{"Fn::Sub long form with a parameter", tp.Table.Name, "app-local"},
		{"!Join of literals and a Ref", tp.Queues[0].Name, "app-local-work"},
		{"long-form Fn::Sub", tp.Queues[1].Name, "app-local-dlq"},
		{"authorizer issuer via !Sub", tp.API.Authorizers["Jwt"].Issuer, "https://issuer/local"},
		{"schedule time zone via !Ref", tp.Functions[0].Schedules[0].TimeZone, "Europe/London"},
		{"list parameter kept joined in Params", tp.Params["Origins"], "https://a.example,https://b.example"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if got := tp.API.CORS.AllowOrigins; !reflect.DeepEqual(got, []string{"https://a.example", "https://b.example"}) {
		t.Errorf("CommaDelimitedList Ref as a list: got %q", got)
	}
	if q := tp.Queues[0]; q.DLQ != "WorkDLQ" || q.MaxReceiveCount != 2 || q.IsDLQ || !tp.Queues[1].IsDLQ {
		t.Errorf("redrive: got %+v / %+v", q, tp.Queues[1])
	}
	f := tp.Functions[0]
	if f.Timeout != 30*time.Second || f.Dir != "functions/worker" {
		t.Errorf("function settings: %+v", f)
	}
	wantRoutes := []Route{
		{Name: "Get", Method: "GET", Path: "/x", Authorizer: "Jwt", Function: "WorkerFunction"},
		{Name: "Open", Method: "POST", Path: "/y", Authorizer: "", Function: "WorkerFunction"},
	}
	if got := tp.Routes(); !reflect.DeepEqual(got, wantRoutes) {
		t.Errorf("routes: a route without Auth takes the default authorizer, NONE means none:\n got %+v\nwant %+v", got, wantRoutes)
	}
	if e := f.SQS[0]; e.Queue != "Work" || e.BatchSize != 10 || !e.ReportBatchItemFailures || !e.Enabled {
		t.Errorf("SQS event defaults: %+v", e)
	}
}

func TestEnvironmentResolvesResourcesThroughTheResolver(t *testing.T) {
	tp, err := Parse([]byte(miniTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := MapResolver{
		Refs:    map[string]string{"Table": "app-dev", "Work": "http://q/work"},
		GetAtts: map[string]string{"Work.Arn": "arn:aws:sqs:us-east-1:000000000000:app-dev-work", "Work.QueueName": "app-dev-work"},
	}
	got, err := tp.Functions[0].Environment(r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"STAGE":        "dev",
		"TABLE":        "app-dev",
		"SHARED":       "own", // the function's own variable wins over Globals
		"QUEUE_URL":    "http://q/work",
		"QUEUE_ARN":    "arn:aws:sqs:us-east-1:000000000000:app-dev-work",
		"ORIGINS":      "https://a.example,https://b.example",
		"FIRST_ORIGIN": "https://a.example",
		"HOST":         "b.example",
		"SUBBED":       "app-dev-work in us-east-1 costs ${Literal}",
		"SUBLIST":      "hello, dev",
		"COUNT":        "8",
		// DROPPED is Ref AWS::NoValue: absent.
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("environment:\n got %v\nwant %v", got, want)
	}
}

func TestEnvironmentWithoutResolverSaysWhy(t *testing.T) {
	tp, err := Parse([]byte(miniTemplate), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tp.Functions[0].Environment(nil)
	if !errors.Is(err, ErrNeedsResolver) {
		t.Fatalf("a resource reference without a Resolver: got %v, want ErrNeedsResolver", err)
	}
	_, err = tp.Functions[0].Environment(MapResolver{})
	if err == nil || !strings.Contains(err.Error(), "no local value") {
		t.Fatalf("a resource the resolver does not know: got %v", err)
	}
}

func TestBadTemplatesFailWithTheReason(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]string
		edit      func(string) string
		want      string
	}{
		{"override of an undeclared parameter", map[string]string{"Stag": "x"}, nil, "declares no such parameter"},
		{"value outside AllowedValues", map[string]string{"Level": "TRACE"}, nil, "AllowedValues"},
		{"value not matching AllowedPattern", map[string]string{"Stage": "Bad_Stage"}, nil, "AllowedPattern"},
		{"Ref to nothing", nil, func(s string) string { return strings.Replace(s, "!Sub app-${Stage}", "!Ref Nope", 1) }, "no such parameter or resource"},
		{"unsupported intrinsic", nil, func(s string) string { return strings.Replace(s, "!Sub app-${Stage}", "!ImportValue x", 1) }, "not supported"},
		{"redrive to a missing queue", nil, func(s string) string { return strings.Replace(s, "WorkDLQ.Arn", "Gone.Arn", 1) }, "not an AWS::SQS::Queue"},
		{"unsupported event type", nil, func(s string) string { return strings.Replace(s, "Type: SQS,", "Type: Kinesis,", 1) }, "not supported by the local runtime"},
		{"unknown time zone", map[string]string{"Zone": "Mars/Base"}, nil, "ScheduleExpressionTimezone"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := miniTemplate
			if c.edit != nil {
				src = c.edit(src)
			}
			_, err := Parse([]byte(src), c.overrides)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestFolderForIsKebabCaseWithoutFunction(t *testing.T) {
	for id, want := range map[string]string{
		"PublicApiFunction": "functions/public-api",
		"ApiFunction":       "functions/api",
		"IngestFunction":    "functions/ingest",
		"DLQReplayFunction": "functions/dlq-replay",
		"Step2Function":     "functions/step2",
	} {
		if got := FolderFor(id); got != want {
			t.Errorf("FolderFor(%s) = %s, want %s", id, got, want)
		}
	}
}

func TestLocalParamsApplyToTheProjectTemplate(t *testing.T) {
	params, err := ReadParams("../params.local.json")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := Load(projectTemplate, params)
	if err != nil {
		t.Fatalf("params.local.json must be valid for template.yaml: %v", err)
	}
	if tp.Params["Stage"] != "local" || tp.Table.Name != "tierflow-local" {
		t.Errorf("Stage local names the table tierflow-local: got %q, %q", tp.Params["Stage"], tp.Table.Name)
	}
}
