package seal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/tierflow/tierflow/shared/seal"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func localSealer(t *testing.T, key []byte) seal.Sealer {
	t.Helper()
	l, err := seal.NewLocal(key)
	if err != nil {
		t.Fatal(err)
	}
	return seal.Sealer{Wrapper: l}
}

type section struct {
	MedicalHistory string `json:"medicalHistory"`
	Allergies      string `json:"allergies"`
}

var secret = section{MedicalHistory: "hypertension since 2019", Allergies: "penicillin"}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := localSealer(t, newKey(t))
	e, err := s.SealJSON(ctx, secret, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(e.Ciphertext, []byte("penicillin")) || bytes.Contains(e.WrappedKey, []byte("penicillin")) {
		t.Fatal("plaintext visible in the envelope")
	}
	var got section
	if err := s.OpenJSON(ctx, e, "cust-1", &got); err != nil {
		t.Fatal(err)
	}
	if got != secret {
		t.Errorf("opened %+v, want %+v", got, secret)
	}
	e2, err := s.SealJSON(ctx, secret, "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(e.WrappedKey, e2.WrappedKey) || bytes.Equal(e.Ciphertext, e2.Ciphertext) {
		t.Error("two seals share a data key or ciphertext; each item must get its own key")
	}
}

func TestTamperingIsDetected(t *testing.T) {
	ctx := context.Background()
	s := localSealer(t, newKey(t))
	flip := func(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }
	cases := []struct {
		name    string
		change  func(e *seal.Envelope)
		binding string
	}{
		{"a flipped ciphertext bit", func(e *seal.Envelope) { e.Ciphertext = flip(e.Ciphertext) }, "cust-1"},
		{"a flipped nonce bit", func(e *seal.Envelope) { e.Nonce = flip(e.Nonce) }, "cust-1"},
		{"a flipped wrapped-key bit", func(e *seal.Envelope) { e.WrappedKey = flip(e.WrappedKey) }, "cust-1"},
		{"a truncated ciphertext", func(e *seal.Envelope) { e.Ciphertext = e.Ciphertext[:5] }, "cust-1"},
		{"another customer's envelope copied over", func(*seal.Envelope) {}, "cust-2"},
		{"an unknown envelope version", func(e *seal.Envelope) { e.Version = 99 }, "cust-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := s.Seal(ctx, []byte("penicillin"), "cust-1")
			if err != nil {
				t.Fatal(err)
			}
			tc.change(&e)
			pt, err := s.Open(ctx, e, tc.binding)
			if !errors.Is(err, seal.ErrTampered) {
				t.Errorf("got %q, %v; want ErrTampered", pt, err)
			}
		})
	}
}

func TestTheWrongKeyFails(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	e, err := localSealer(t, key).Seal(ctx, []byte("penicillin"), "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := localSealer(t, newKey(t)).Open(ctx, e, "cust-1"); !errors.Is(err, seal.ErrUnknownKey) {
		t.Errorf("another local key: %v, want ErrUnknownKey", err)
	}
	// Claiming the right key id does not help without the right key.
	other := localSealer(t, newKey(t))
	forged, err := other.Seal(ctx, []byte("x"), "cust-1")
	if err != nil {
		t.Fatal(err)
	}
	forged.KeyID = e.KeyID
	if _, err := localSealer(t, key).Open(ctx, forged, "cust-1"); !errors.Is(err, seal.ErrTampered) {
		t.Errorf("forged key id: %v, want ErrTampered", err)
	}
}

func TestLocalKeyFromEnvironment(t *testing.T) {
	cases := []struct {
		name, val string
		ok        bool
	}{
		{"32 bytes of base64 is a key", base64.StdEncoding.EncodeToString(make([]byte, 32)), true},
		{"unset is an error that says how to make one", "", false},
		{"16 bytes is too short for AES-256", base64.StdEncoding.EncodeToString(make([]byte, 16)), false},
		{"not base64 is an error", "not base64!!", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(seal.LocalKeyEnv, tc.val)
			_, err := seal.LocalFromEnv()
			if (err == nil) != tc.ok {
				t.Errorf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func BenchmarkSealOpen(b *testing.B) {
	ctx := context.Background()
	key := make([]byte, 32)
	l, err := seal.NewLocal(key)
	if err != nil {
		b.Fatal(err)
	}
	s := seal.Sealer{Wrapper: l}
	b.ReportAllocs()
	for b.Loop() {
		e, err := s.SealJSON(ctx, secret, "cust-1")
		if err != nil {
			b.Fatal(err)
		}
		var got section
		if err := s.OpenJSON(ctx, e, "cust-1", &got); err != nil {
			b.Fatal(err)
		}
	}
}
