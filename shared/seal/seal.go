package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors callers branch on.
var (
	// ErrTampered means the envelope does not authenticate: changed bytes, another
	// customer's envelope, or a data key unwrapped with the wrong master key.
	ErrTampered = errors.New("seal: envelope does not authenticate")
	// ErrUnknownKey means the envelope names a key this wrapper does not hold.
	ErrUnknownKey = errors.New("seal: envelope was sealed with another key")
)

// DataKeySize is AES-256.
const DataKeySize = 32

// KeyWrapper makes and unwraps data keys. binding is authenticated context (the
// customer id): unwrapping with another binding fails.
type KeyWrapper interface {
	// NewDataKey returns a fresh plaintext data key, its wrapped form, and the id of the
	// key that wrapped it.
	NewDataKey(ctx context.Context, binding string) (plain, wrapped []byte, keyID string, err error)
	// Unwrap returns the plaintext data key.
	Unwrap(ctx context.Context, wrapped []byte, keyID, binding string) ([]byte, error)
}

// Envelope is what is stored: everything needed to open it except the master key.
type Envelope struct {
	Version    int    `json:"v" dynamodbav:"v"`
	KeyID      string `json:"kid" dynamodbav:"kid"`
	WrappedKey []byte `json:"wk" dynamodbav:"wk"`
	Nonce      []byte `json:"n" dynamodbav:"n"`
	Ciphertext []byte `json:"ct" dynamodbav:"ct"`
}

const envelopeVersion = 1

// Sealer seals and opens envelopes.
type Sealer struct {
	Wrapper KeyWrapper
}

// Seal encrypts plaintext under a new data key bound to binding (the customer id).
func (s Sealer) Seal(ctx context.Context, plaintext []byte, binding string) (Envelope, error) {
	key, wrapped, kid, err := s.Wrapper.NewDataKey(ctx, binding)
	if err != nil {
		return Envelope{}, fmt.Errorf("seal: new data key: %w", err)
	}
	defer clear(key)
	nonce, ct, err := gcmSeal(key, plaintext, aad(binding))
	if err != nil {
		return Envelope{}, fmt.Errorf("seal: encrypt: %w", err)
	}
	return Envelope{Version: envelopeVersion, KeyID: kid, WrappedKey: wrapped, Nonce: nonce, Ciphertext: ct}, nil
}

// Open decrypts an envelope sealed for binding.
func (s Sealer) Open(ctx context.Context, e Envelope, binding string) ([]byte, error) {
	if e.Version != envelopeVersion {
		return nil, fmt.Errorf("seal: envelope version %d: %w", e.Version, ErrTampered)
	}
	key, err := s.Wrapper.Unwrap(ctx, e.WrappedKey, e.KeyID, binding)
	if err != nil {
		return nil, fmt.Errorf("seal: unwrap data key: %w", err)
	}
	defer clear(key)
	pt, err := gcmOpen(key, e.Nonce, e.Ciphertext, aad(binding))
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w", err)
	}
	return pt, nil
}

// SealJSON seals v's JSON form.
func (s Sealer) SealJSON(ctx context.Context, v any, binding string) (Envelope, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Envelope{}, fmt.Errorf("seal: encode: %w", err)
	}
	defer clear(b)
	return s.Seal(ctx, b, binding)
}

// OpenJSON opens an envelope into v.
func (s Sealer) OpenJSON(ctx context.Context, e Envelope, binding string, v any) error {
	b, err := s.Open(ctx, e, binding)
	if err != nil {
		return err
	}
	defer clear(b)
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("seal: decode: %w", err)
	}
	return nil
}

func aad(binding string) []byte { return []byte("tierflow/seal/v1\x00" + binding) }

func gcmSeal(key, plaintext, ad []byte) (nonce, ct []byte, err error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	nonce = make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, fmt.Errorf("nonce: %w", err)
	}
	return nonce, g.Seal(nil, nonce, plaintext, ad), nil
}

func gcmOpen(key, nonce, ct, ad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(nonce) != g.NonceSize() {
		return nil, ErrTampered
	}
	pt, err := g.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, ErrTampered
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != DataKeySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), DataKeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
