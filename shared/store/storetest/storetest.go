// Package storetest runs a test binary against the real emulators: DynamoDB Local, the
// SQS emulator and the SES v2 emulator, started once per binary, with the table and
// queues created from template.yaml exactly as the local runtime creates them. An
// emulator that cannot start fails the run; nothing is skipped.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tierflow/tierflow/infra/local/emulators"
	"github.com/tierflow/tierflow/infra/local/resources"
	"github.com/tierflow/tierflow/infra/local/samtemplate"
	"github.com/tierflow/tierflow/shared/store"
)

var (
	emu     *emulators.Emulators
	created *resources.Created
	tpl     *samtemplate.Template
)

// Main starts the emulators, creates the template's resources, runs the tests and
// stops everything. Use it from TestMain: os.Exit(storetest.Main(m)).
func Main(m *testing.M) int {
	root, err := emulators.FindRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		return 1
	}
	state, err := os.MkdirTemp("", "tierflow-test-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(state)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	emu, err = emulators.Start(ctx, emulators.Options{StateDir: state})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: the emulators did not start: %v\n", err)
		return 1
	}
	defer emu.Stop()

	tpl, err = samtemplate.Load(filepath.Join(root, "template.yaml"), map[string]string{"Stage": "test"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: %v\n", err)
		return 1
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	created, err = resources.Create(ctx, tpl, emu)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "storetest: create resources: %v\n", err)
		return 1
	}
	return m.Run()
}

func mustStarted(tb testing.TB) {
	tb.Helper()
	if emu == nil {
		tb.Fatal("storetest: the emulators are not running: call storetest.Main from TestMain")
	}
}

// Table returns the template's table on DynamoDB Local, with a fresh request-unit meter.
// Tests share it: give every test its own ids.
func Table(tb testing.TB) *store.Table {
	tb.Helper()
	mustStarted(tb)
	return store.New(emu.DynamoDBClient(), tpl.Table.Name)
}

// Emulators returns the running emulators (endpoints and SDK clients).
func Emulators(tb testing.TB) *emulators.Emulators {
	tb.Helper()
	mustStarted(tb)
	return emu
}

// Template returns the loaded template.
func Template(tb testing.TB) *samtemplate.Template {
	tb.Helper()
	mustStarted(tb)
	return tpl
}

// QueueURL returns the URL of one of the template's queues by logical id.
func QueueURL(tb testing.TB, logicalID string) string {
	tb.Helper()
	mustStarted(tb)
	u := created.QueueURL(logicalID)
	if u == "" {
		tb.Fatalf("storetest: template has no queue %s", logicalID)
	}
	return u
}

// Queue creates a scratch queue for one test and deletes it afterwards.
func Queue(tb testing.TB, name string) string {
	tb.Helper()
	mustStarted(tb)
	c := emu.SQSClient()
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name + "-" + Suffix())})
	if err != nil {
		tb.Fatalf("storetest: create queue %s: %v", name, err)
	}
	tb.Cleanup(func() {
		_, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl})
	})
	return aws.ToString(out.QueueUrl)
}

// Suffix returns a short random string for ids that must not collide across tests.
func Suffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
