package esm

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestFailures(t *testing.T) {
	batch := []types.Message{{MessageId: aws.String("a")}, {MessageId: aws.String("b")}}
	rbif := &mapping{Mapping: Mapping{ReportBatchItemFailures: true}}
	plain := &mapping{}
	cases := []struct {
		name string
		m    *mapping
		out  string
		err  error
		want []string
	}{
		{"an empty response means every message succeeded", rbif, `{"batchItemFailures":[]}`, nil, nil},
		{"a null response means every message succeeded", rbif, `null`, nil, nil},
		{"only the reported messages failed", rbif, `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, nil, []string{"b"}},
		{"an unknown itemIdentifier fails the whole batch", rbif, `{"batchItemFailures":[{"itemIdentifier":"zzz"}]}`, nil, []string{"a", "b"}},
		{"a response that is not a batch response fails the whole batch", rbif, `"done"`, nil, []string{"a", "b"}},
		{"a function error fails the whole batch", rbif, ``, errors.New("boom"), []string{"a", "b"}},
		{"without ReportBatchItemFailures the response is ignored", plain, `{"batchItemFailures":[{"itemIdentifier":"b"}]}`, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := failures(c.m, batch, []byte(c.out), c.err)
			if (err != nil) != (len(c.want) > 0) {
				t.Errorf("err = %v with %d failed messages: want an error exactly when some failed", err, len(c.want))
			}
			if len(got) != len(c.want) {
				t.Fatalf("failed = %v, want %v", got, c.want)
			}
			for _, id := range c.want {
				if !got[id] {
					t.Fatalf("failed = %v, want %v", got, c.want)
				}
			}
		})
	}
}
