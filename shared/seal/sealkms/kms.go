// Package sealkms wraps shared/seal's data keys with AWS KMS. It is apart from shared/seal
// because the KMS client weighs ~0.3 MB in every bootstrap that links it, and only the api
// function opens sensitive sections; the store only needs seal's envelope (issue #13).
package sealkms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tierflow/tierflow/shared/seal"
)

// KMSAPI is the part of the KMS client the wrapper uses.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS wraps data keys with a KMS key. The plaintext master key never leaves KMS, every
// unwrap is in CloudTrail, and the customer id travels as encryption context, so the
// trail says whose sensitive section was opened.
type KMS struct {
	Client KMSAPI
	KeyID  string // key id, ARN or alias
}

func encryptionContext(binding string) map[string]string {
	return map[string]string{"tierflow:customer": binding}
}

// NewDataKey asks KMS for an AES-256 data key.
func (k KMS) NewDataKey(ctx context.Context, binding string) ([]byte, []byte, string, error) {
	out, err := k.Client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(k.KeyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(binding),
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("kms generate data key: %w", err)
	}
	if len(out.Plaintext) != seal.DataKeySize {
		return nil, nil, "", fmt.Errorf("kms generate data key: got %d bytes", len(out.Plaintext))
	}
	return out.Plaintext, out.CiphertextBlob, aws.ToString(out.KeyId), nil
}

// Unwrap asks KMS to decrypt a wrapped data key. Naming the key id makes KMS refuse a
// blob from another key instead of trying whatever key it came from.
func (k KMS) Unwrap(ctx context.Context, wrapped []byte, keyID, binding string) ([]byte, error) {
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{
		CiphertextBlob:    wrapped,
		KeyId:             aws.String(keyID),
		EncryptionContext: encryptionContext(binding),
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		switch {
		case errors.As(err, &invalid):
			return nil, fmt.Errorf("kms decrypt: %w: %w", seal.ErrTampered, err)
		case errors.As(err, &incorrect):
			return nil, fmt.Errorf("kms decrypt: %w: %w", seal.ErrUnknownKey, err)
		}
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}

// WrapperFor picks the key wrapper for a function: KMS for a real key id (from
// SEAL_KEY_ID, which template.yaml sets to the DataKey), the local master key for the
// local runtime's "local-…" ids or when no key is configured.
func WrapperFor(cfg aws.Config, keyID string) (seal.KeyWrapper, error) {
	if keyID == "" || strings.HasPrefix(keyID, seal.LocalKeyPrefix) {
		return seal.LocalFromEnv()
	}
	return KMS{Client: kms.NewFromConfig(cfg), KeyID: keyID}, nil
}
