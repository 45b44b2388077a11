package sealkms_test

import (
	"context"
	"crypto/rand"
	"errors"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/tierflow/tierflow/shared/seal"
	"github.com/tierflow/tierflow/shared/seal/sealkms"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

type section struct {
	MedicalHistory string `json:"medicalHistory"`
	Allergies      string `json:"allergies"`
}

var secret = section{MedicalHistory: "hypertension since 2019", Allergies: "penicillin"}

// fakeKMS behaves as KMS does for these two calls: keys are wrapped under a master key
// it holds, and decryption needs the same key id and encryption context.
type fakeKMS struct {
	inner   *seal.Local
	keyID   string
	lastCtx map[string]string
}

func (f *fakeKMS) GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, _ ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error) {
	if in.KeySpec != types.DataKeySpecAes256 || aws.ToString(in.KeyId) != f.keyID {
		return nil, &types.NotFoundException{Message: aws.String("no such key or spec")}
	}
	f.lastCtx = maps.Clone(in.EncryptionContext)
	plain, wrapped, _, err := f.inner.NewDataKey(ctx, in.EncryptionContext["tierflow:customer"])
	if err != nil {
		return nil, err
	}
	return &kms.GenerateDataKeyOutput{Plaintext: plain, CiphertextBlob: wrapped, KeyId: aws.String(f.keyID)}, nil
}

func (f *fakeKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	if aws.ToString(in.KeyId) != f.keyID {
		return nil, &types.IncorrectKeyException{Message: aws.String("incorrect key")}
	}
	l := f.inner
	plain, err := l.Unwrap(ctx, in.CiphertextBlob, localID(l), in.EncryptionContext["tierflow:customer"])
	if err != nil {
		return nil, &types.InvalidCiphertextException{Message: aws.String("invalid ciphertext")}
	}
	return &kms.DecryptOutput{Plaintext: plain}, nil
}

func localID(l *seal.Local) string {
	_, _, id, err := l.NewDataKey(context.Background(), "")
	if err != nil {
		panic(err) // the fake's own key: the test cannot go on without it
	}
	return id
}

func TestKMSWrapper(t *testing.T) {
	ctx := context.Background()
	inner, err := seal.NewLocal(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeKMS{inner: inner, keyID: "arn:aws:kms:ap-east-1:111122223333:key/abc"}
	s := seal.Sealer{Wrapper: sealkms.KMS{Client: fake, KeyID: fake.keyID}}

	e, err := s.SealJSON(ctx, secret, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if fake.lastCtx["tierflow:customer"] != "cust-1" {
		t.Errorf("the customer id must travel as encryption context for CloudTrail: %v", fake.lastCtx)
	}
	var got section
	if err := s.OpenJSON(ctx, e, "cust-1", &got); err != nil || got != secret {
		t.Fatalf("round trip through KMS: %+v, %v", got, err)
	}
	if _, err := s.Open(ctx, e, "cust-2"); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("another customer's context: %v, want ErrTampered", err)
	}
	e.KeyID = "arn:aws:kms:ap-east-1:111122223333:key/other"
	if _, err := s.Open(ctx, e, "cust-1"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("another KMS key: %v, want ErrUnknownKey", err)
	}
}
