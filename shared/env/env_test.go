package env

import (
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		vars    map[string]string
		read    func(r *Reader) any
		want    any
		wantErr string
	}{
		{"a set variable is returned", map[string]string{"A": "x"}, func(r *Reader) any { return r.Required("A") }, "x", ""},
		{"a missing required variable is reported by name", nil, func(r *Reader) any { return r.Required("TABLE_NAME") }, "", "TABLE_NAME is not set"},
		{"a blank required variable counts as missing", map[string]string{"A": "  "}, func(r *Reader) any { return r.Required("A") }, "", "A is not set"},
		{"an optional variable falls back to its default", nil, func(r *Reader) any { return r.Optional("A", "d") }, "d", ""},
		{"lists drop blanks and spaces", map[string]string{"L": " a, ,b "}, func(r *Reader) any { return strings.Join(r.List("L"), "|") }, "a|b", ""},
		{"a malformed integer is reported", map[string]string{"N": "eight"}, func(r *Reader) any { return r.Int("N", 8) }, 8, `N="eight" is not an integer`},
		{"a time zone is loaded", map[string]string{"TZ": "Asia/Shanghai"}, func(r *Reader) any { return r.Location("TZ", "UTC").String() }, "Asia/Shanghai", ""},
		{"an unknown time zone is reported", map[string]string{"TZ": "Mars/Base"}, func(r *Reader) any { return r.Location("TZ", "UTC").String() }, "UTC", "not an IANA time zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := FromMap(tt.vars)
			if got := tt.read(r); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			err := r.Err()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestSecretsAreAnsweredOnlyFromWhatWasResolved(t *testing.T) {
	r := FromMap(map[string]string{"SMS_WEBHOOK_SECRET": "pasted-plain", "TABLE_NAME": "t"}).
		WithSecrets([]string{"SMS_WEBHOOK_SECRET", "LOG_HASH_KEY"}, map[string]string{"LOG_HASH_KEY": "from-ssm"})
	if got := r.Optional("SMS_WEBHOOK_SECRET", ""); got != "" {
		t.Errorf("a plain secret variable was read: %q", got)
	}
	if got := r.Optional("LOG_HASH_KEY", ""); got != "from-ssm" {
		t.Errorf("LOG_HASH_KEY = %q, want the resolved value", got)
	}
	if got := r.Required("TABLE_NAME"); got != "t" {
		t.Errorf("an ordinary variable = %q", got)
	}
	r.Required("SMS_WEBHOOK_SECRET")
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "SMS_WEBHOOK_SECRET is not set") {
		t.Errorf("a required secret that was not resolved: %v", err)
	}
}
