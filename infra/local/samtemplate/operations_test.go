package samtemplate

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// alarm is one AWS::CloudWatch::Alarm of the template, intrinsics unresolved.
type alarm struct {
	id    string
	props map[string]any
}

func (a alarm) dimension(name string) any {
	for _, d := range listOf(a.props["Dimensions"]) {
		if m := mapOf(d); str(m["Name"]) == name {
			return m["Value"]
		}
	}
	return nil
}

func alarms(raw map[string]any) []alarm {
	var out []alarm
	res := mapOf(raw["Resources"])
	for _, id := range sortedKeys(res) {
		if str(mapOf(res[id])["Type"]) == "AWS::CloudWatch::Alarm" {
			out = append(out, alarm{id: id, props: resourceProps(raw, id)})
		}
	}
	return out
}

// findAlarm returns the alarm on namespace/metric whose dimension dim refers to target.
// threshold is the alarm's Threshold; a missing one (which would read as 0) fails the test.
func threshold(t *testing.T, a alarm) float64 {
	t.Helper()
	th, err := strconv.ParseFloat(str(a.props["Threshold"]), 64)
	if err != nil {
		t.Fatalf("%s: Threshold %v: %v", a.id, a.props["Threshold"], err)
	}
	return th
}

func findAlarm(as []alarm, namespace, metric, dim, target string) (alarm, bool) {
	for _, a := range as {
		if str(a.props["Namespace"]) != namespace || str(a.props["MetricName"]) != metric {
			continue
		}
		if dim == "" {
			return a, true
		}
		if id, ok := logicalTarget(a.dimension(dim)); ok && id == target {
			return a, true
		}
	}
	return alarm{}, false
}

func TestTemplateOperations(t *testing.T) {
	tp := loadProject(t)
	raw := rawProject(t)
	as := alarms(raw)
	res := mapOf(raw["Resources"])

	t.Run("every alarm notifies the topic the business subscribes to", func(t *testing.T) {
		if len(as) == 0 {
			t.Fatal("no alarms")
		}
		for _, a := range as {
			acts := listOf(a.props["AlarmActions"])
			if len(acts) != 1 {
				t.Errorf("%s: AlarmActions %v, want the alarm topic", a.id, acts)
				continue
			}
			if id, _ := logicalTarget(acts[0]); id != "AlarmTopic" {
				t.Errorf("%s notifies %v, not AlarmTopic", a.id, acts[0])
			}
			if str(a.props["TreatMissingData"]) != "notBreaching" {
				t.Errorf("%s: TreatMissingData %q: an idle queue or function must not alarm", a.id, str(a.props["TreatMissingData"]))
			}
		}
		sub := mapOf(res["AlarmEmailSubscription"])
		sp := mapOf(sub["Properties"])
		if str(sub["Type"]) != "AWS::SNS::Subscription" || str(sp["Protocol"]) != "email" {
			t.Fatalf("AlarmEmailSubscription: %v", sub)
		}
		if id, _ := logicalTarget(sp["Endpoint"]); id != "AlarmEmail" {
			t.Errorf("the subscription's endpoint is %v, want the AlarmEmail parameter", sp["Endpoint"])
		}
		if _, ok := tp.Params["AlarmEmail"]; !ok {
			t.Error("no AlarmEmail parameter")
		}
	})
	t.Run("every dead-letter queue alarms on its depth and its age", func(t *testing.T) {
		n := 0
		for _, q := range tp.Queues {
			if !q.IsDLQ {
				continue
			}
			n++
			if a, ok := findAlarm(as, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.LogicalID); !ok {
				t.Errorf("%s: no depth alarm", q.LogicalID)
			} else if th := threshold(t, a); th != 0 || str(a.props["ComparisonOperator"]) != "GreaterThanThreshold" {
				t.Errorf("%s: depth alarm fires above %v, want on the first message", q.LogicalID, th)
			}
			if a, ok := findAlarm(as, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", q.LogicalID); !ok {
				t.Errorf("%s: no age alarm", q.LogicalID)
			} else if th := threshold(t, a); th <= 0 || th >= q.MessageRetention.Seconds() {
				t.Errorf("%s: age alarm at %v s, want before the retention (%s) drops the message", q.LogicalID, th, q.MessageRetention)
			}
		}
		if n == 0 {
			t.Error("no dead-letter queue")
		}
	})
	t.Run("every function alarms on errors and throttles", func(t *testing.T) {
		for _, f := range tp.Functions {
			for _, m := range []string{"Errors", "Throttles"} {
				if _, ok := findAlarm(as, "AWS/Lambda", m, "FunctionName", f.LogicalID); !ok {
					t.Errorf("%s: no %s alarm", f.LogicalID, m)
				}
			}
		}
	})
	t.Run("SES bounce and complaint rates alarm before SES reviews the account", func(t *testing.T) {
		for _, c := range []struct {
			metric string
			review float64
		}{{"Reputation.BounceRate", 0.05}, {"Reputation.ComplaintRate", 0.001}} {
			a, ok := findAlarm(as, "AWS/SES", c.metric, "", "")
			if !ok {
				t.Errorf("no alarm on %s", c.metric)
				continue
			}
			if th := threshold(t, a); th <= 0 || th >= c.review {
				t.Errorf("%s alarms at %v, want above 0 and below SES's review threshold %v", c.metric, th, c.review)
			}
		}
	})
	t.Run("every function has an explicit log group with a retention", func(t *testing.T) {
		groups := map[string]map[string]any{}
		for id, r := range res {
			if str(mapOf(r)["Type"]) == "AWS::Logs::LogGroup" {
				groups[id] = mapOf(mapOf(r)["Properties"])
			}
		}
		for _, f := range tp.Functions {
			found := false
			for id, p := range groups {
				name := str(mapOf(p["LogGroupName"])["Fn::Sub"])
				if name != "/aws/lambda/${"+f.LogicalID+"}" {
					continue
				}
				found = true
				if _, ok := p["RetentionInDays"]; !ok {
					t.Errorf("%s (%s): no RetentionInDays: logs would be kept forever", id, f.LogicalID)
				}
			}
			if !found {
				t.Errorf("%s: no AWS::Logs::LogGroup named /aws/lambda/${%s}: Lambda would create one that never expires", f.LogicalID, f.LogicalID)
			}
		}
	})
	t.Run("the dispatch mapping caps its concurrency", func(t *testing.T) {
		f, _ := tp.Function("DispatchFunction")
		if len(f.SQS) == 0 {
			t.Fatal("DispatchFunction has no SQS event")
		}
		for _, e := range f.SQS {
			if e.MaxConcurrency < 2 {
				t.Errorf("DispatchFunction %s: ScalingConfig.MaximumConcurrency = %d, want ≥ 2 (SQS's minimum)", e.Name, e.MaxConcurrency)
			}
		}
	})
	t.Run("every queue's visibility timeout is at least six times its function's timeout", func(t *testing.T) {
		for _, f := range tp.Functions {
			for _, e := range f.SQS {
				q, _ := tp.Queue(e.Queue)
				if q.VisibilityTimeout < 6*f.Timeout {
					t.Errorf("%s: VisibilityTimeout %s < 6 × %s's Timeout %s", q.LogicalID, q.VisibilityTimeout, f.LogicalID, f.Timeout)
				}
			}
		}
	})
	t.Run("sam build builds in the source folder, copying nothing", func(t *testing.T) {
		cfg, err := os.ReadFile("../../../samconfig.toml")
		if err != nil {
			t.Fatalf("samconfig.toml: %v", err)
		}
		if !regexp.MustCompile(`(?m)^\[default\.build\.parameters\]\s*$[\s\S]*?^build_in_source\s*=\s*true\s*$`).Match(cfg) {
			t.Error("samconfig.toml lacks build_in_source = true under [default.build.parameters]: sam build would copy the whole checkout (node_modules, .build) once per function")
		}
		mk, err := os.ReadFile(projectMakefile)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(mk), "\n") {
			if strings.Contains(line, "sam build") && !strings.Contains(line, "--build-in-source") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
				t.Errorf("Makefile: %q builds without --build-in-source", strings.TrimSpace(line))
			}
		}
	})
	t.Run("docs/operations.md has a runbook row for every alarm", func(t *testing.T) {
		doc, err := os.ReadFile("../../../docs/operations.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			if !strings.Contains(string(doc), "`"+a.id+"`") {
				t.Errorf("docs/operations.md does not name alarm %s", a.id)
			}
		}
	})
}
