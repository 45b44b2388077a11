package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// LocalKeyEnv names the variable holding the local master key (base64 of 32 bytes).
const LocalKeyEnv = "TIERFLOW_LOCAL_KEY"

// Local wraps data keys with a master key held in the process: for `make run` and
// tests, where there is no KMS. It is the same envelope format as production.
type Local struct {
	master []byte
	id     string
}

// NewLocal uses master (32 bytes). Its key id is a fingerprint, so an envelope sealed
// under another local key is reported as such rather than as tampering.
func NewLocal(master []byte) (*Local, error) {
	if len(master) != DataKeySize {
		return nil, fmt.Errorf("seal: local master key is %d bytes, want %d", len(master), DataKeySize)
	}
	sum := sha256.Sum256(append([]byte("tierflow/seal/local-id\x00"), master...))
	return &Local{master: bytes.Clone(master), id: "local:" + hex.EncodeToString(sum[:6])}, nil
}

// LocalFromEnv reads TIERFLOW_LOCAL_KEY.
func LocalFromEnv() (*Local, error) {
	raw := strings.TrimSpace(os.Getenv(LocalKeyEnv))
	if raw == "" {
		return nil, fmt.Errorf("seal: %s is not set (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)", LocalKeyEnv)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %s is not base64: %w", LocalKeyEnv, err)
	}
	return NewLocal(key)
}

// NewDataKey draws a data key and wraps it with the master key.
func (l *Local) NewDataKey(_ context.Context, binding string) ([]byte, []byte, string, error) {
	key := make([]byte, DataKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, "", fmt.Errorf("draw data key: %w", err)
	}
	nonce, ct, err := gcmSeal(l.master, key, aad(binding))
	if err != nil {
		return nil, nil, "", err
	}
	return key, append(nonce, ct...), l.id, nil
}

// Unwrap opens a wrapped data key.
func (l *Local) Unwrap(_ context.Context, wrapped []byte, keyID, binding string) ([]byte, error) {
	if keyID != l.id {
		return nil, fmt.Errorf("key %q, have %q: %w", keyID, l.id, ErrUnknownKey)
	}
	const nonceSize = 12
	if len(wrapped) < nonceSize {
		return nil, ErrTampered
	}
	return gcmOpen(l.master, wrapped[:nonceSize], wrapped[nonceSize:], aad(binding))
}

// LocalKeyPrefix marks a key id that the local runtime resolves a KMS key to: there is no
// KMS emulator, so such ids mean "use the local master key".
const LocalKeyPrefix = "local"
