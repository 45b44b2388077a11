// Package secrets reads the few values that must not sit in a function's environment —
// HMAC keys shared with the SMS provider, the key of the hashes that stand in for
// personal data in logs — from SSM Parameter Store SecureString parameters, once per cold
// start. The template passes only each parameter's name (NAME_PARAM); the value never
// appears in the function's configuration, where anyone allowed to read the function
// would see it.
//
// There is no SSM emulator: the local runtime passes the values themselves (NAME) and
// marks its processes with LocalRuntimeEnv. That plain-value path is refused anywhere
// else, so a secret pasted into a deployed function's environment stops its cold start
// instead of being used.
package secrets

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The secrets the functions read, by the variable name the code asks for.
const (
	SMSWebhookSecret = "SMS_WEBHOOK_SECRET" // signs requests to the webhook SMS provider
	SMSInboundSecret = "SMS_INBOUND_SECRET" // the SMS provider signs inbound replies with it
	LogHashKey       = "LOG_HASH_KEY"       // base64; keys the hashes of redacted log values
)

// Names lists every secret; a template variable of any of these names is a defect.
var Names = []string{SMSWebhookSecret, SMSInboundSecret, LogHashKey}

// ParamSuffix: the template passes NAME_PARAM, the SSM parameter holding NAME.
const ParamSuffix = "_PARAM"

// LocalRuntimeEnv is set to "local" by the local runtime (infra/local) for the function
// processes it starts, and by nothing else: only then is a plain NAME variable read.
const LocalRuntimeEnv = "TIERFLOW_RUNTIME"

// Getter is SSM's GetParameters with decryption (SSM, over HTTP): the values of the
// parameters that exist by name, and the names that do not.
type Getter interface {
	GetParameters(ctx context.Context, names []string) (*Parameters, error)
}

// ErrPlainInDeployment is returned for a secret found as a plain environment variable
// outside the local runtime.
var ErrPlainInDeployment = errors.New("a secret is a plain environment variable")

// Load returns the value of every secret the environment names, keyed by its name (a
// secret the environment does not name is absent). NAME_PARAM values are read in one
// GetParameters call with decryption; client is called only when there is one (newClient
// builds it lazily, so the local runtime never needs SSM credentials).
func Load(ctx context.Context, newClient func() Getter, lookup func(string) (string, bool)) (map[string]string, error) {
	out := map[string]string{}
	local := get(lookup, LocalRuntimeEnv) == "local"
	byParam := map[string][]string{} // parameter name -> secrets read from it
	var errs []error
	for _, name := range Names {
		param := strings.TrimSpace(get(lookup, name+ParamSuffix))
		plain, hasPlain := lookup(name)
		switch {
		case param != "":
			if hasPlain {
				errs = append(errs, fmt.Errorf("%s and %s%s are both set: remove %s", name, name, ParamSuffix, name))
				continue
			}
			byParam[param] = append(byParam[param], name)
		case hasPlain && local:
			if plain != "" {
				out[name] = plain
			}
		case hasPlain && plain != "":
			errs = append(errs, fmt.Errorf("%s: %w; put it in an SSM SecureString parameter and pass its name in %s%s",
				name, ErrPlainInDeployment, name, ParamSuffix))
		}
	}
	if len(errs) > 0 || len(byParam) == 0 {
		return out, errors.Join(errs...)
	}
	params := make([]string, 0, len(byParam))
	for p := range byParam {
		params = append(params, p)
	}
	slices.Sort(params)
	res, err := newClient().GetParameters(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("read secrets %s from SSM Parameter Store: %w", strings.Join(params, ", "), err)
	}
	for p, v := range res.Values {
		for _, name := range byParam[p] {
			out[name] = v
		}
	}
	for _, p := range res.Invalid {
		errs = append(errs, fmt.Errorf("%s: SSM parameter %s does not exist (create it: aws ssm put-parameter --type SecureString --name %s --value ...)",
			strings.Join(byParam[p], ", "), p, p))
	}
	return out, errors.Join(errs...)
}

func get(lookup func(string) (string, bool), k string) string {
	v, _ := lookup(k)
	return v
}
