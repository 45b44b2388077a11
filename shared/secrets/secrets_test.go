package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tierflow/tierflow/shared/secrets"
)

// fakeSSM holds SecureString parameters and counts the calls.
type fakeSSM struct {
	params map[string]string
	calls  int
	names  []string
}

func (f *fakeSSM) GetParameters(_ context.Context, names []string) (*secrets.Parameters, error) {
	f.calls++
	f.names = names
	out := &secrets.Parameters{Values: map[string]string{}}
	for _, n := range names {
		if v, ok := f.params[n]; ok {
			out.Values[n] = v
		} else {
			out.Invalid = append(out.Invalid, n)
		}
	}
	return out, nil
}

func lookupIn(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestLoad(t *testing.T) {
	stored := map[string]string{"/tierflow/dev/log-hash-key": "bG9nLWtleQ==", "/tierflow/dev/sms-inbound": "inbound-secret-0123456789"}
	cases := []struct {
		name    string
		env     map[string]string
		want    map[string]string
		calls   int
		wantErr string
	}{
		{"parameter names are read from SSM in one call, decrypted",
			map[string]string{"LOG_HASH_KEY_PARAM": "/tierflow/dev/log-hash-key", "SMS_INBOUND_SECRET_PARAM": "/tierflow/dev/sms-inbound"},
			map[string]string{"LOG_HASH_KEY": "bG9nLWtleQ==", "SMS_INBOUND_SECRET": "inbound-secret-0123456789"}, 1, ""},
		{"an empty parameter name means the secret is not configured",
			map[string]string{"LOG_HASH_KEY_PARAM": "/tierflow/dev/log-hash-key", "SMS_INBOUND_SECRET_PARAM": ""},
			map[string]string{"LOG_HASH_KEY": "bG9nLWtleQ=="}, 1, ""},
		{"nothing named asks SSM nothing", map[string]string{"SMS_INBOUND_SECRET_PARAM": ""}, map[string]string{}, 0, ""},
		{"a parameter that does not exist stops the cold start, naming it",
			map[string]string{"SMS_WEBHOOK_SECRET_PARAM": "/tierflow/dev/missing"}, nil, 1, "/tierflow/dev/missing does not exist"},
		{"a plain secret in a deployed function stops the cold start",
			map[string]string{"SMS_WEBHOOK_SECRET": "pasted-into-the-console"}, nil, 0, "SMS_WEBHOOK_SECRET: a secret is a plain environment variable"},
		{"the local runtime passes plain values",
			map[string]string{"TIERFLOW_RUNTIME": "local", "SMS_INBOUND_SECRET": "local-inbound-secret", "LOG_HASH_KEY": "a2V5"},
			map[string]string{"SMS_INBOUND_SECRET": "local-inbound-secret", "LOG_HASH_KEY": "a2V5"}, 0, ""},
		{"another runtime marker is not the local runtime",
			map[string]string{"TIERFLOW_RUNTIME": "lambda", "LOG_HASH_KEY": "a2V5"}, nil, 0, "LOG_HASH_KEY: a secret is a plain environment variable"},
		{"a name and a plain value at once is refused",
			map[string]string{"TIERFLOW_RUNTIME": "local", "LOG_HASH_KEY": "a2V5", "LOG_HASH_KEY_PARAM": "/tierflow/dev/log-hash-key"}, nil, 0, "remove LOG_HASH_KEY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSSM{params: stored}
			got, err := secrets.Load(context.Background(), func() secrets.Getter { return f }, lookupIn(tc.env))
			if f.calls != tc.calls {
				t.Errorf("SSM calls = %d, want %d", f.calls, tc.calls)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	_, err := secrets.Load(context.Background(), func() secrets.Getter { return &fakeSSM{} }, lookupIn(map[string]string{"LOG_HASH_KEY": "x"}))
	if !errors.Is(err, secrets.ErrPlainInDeployment) {
		t.Errorf("err = %v, want ErrPlainInDeployment", err)
	}
}
