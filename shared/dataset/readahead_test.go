package dataset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

func gzipFile(t *testing.T, raw []byte) string {
	t.Helper()
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "f.csv.gz")
	if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Decompressing ahead on another goroutine hands over exactly the file's bytes, over
// many chunks, and stops cleanly when closed early.
func TestReadAheadGivesTheSameBytes(t *testing.T) {
	raw := make([]byte, 3<<20+12345)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = "abc,123\n"[rng.IntN(8)]
	}
	p := gzipFile(t, raw)
	f, err := OpenOnlineRetail(p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || !bytes.Equal(got, raw) {
		t.Fatalf("read %d bytes (want %d), equal=%v, err=%v", len(got), len(raw), bytes.Equal(got, raw), err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	early, err := OpenOnlineRetail(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(early, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := early.Close(); err != nil {
		t.Fatal(err)
	}
}

// A truncated download is an error, not a shorter file.
func TestReadAheadReportsATruncatedFile(t *testing.T) {
	raw := bytes.Repeat([]byte("536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"), 50000)
	p := gzipFile(t, raw)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenOnlineRetail(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.ReadAll(f); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a truncated gzip file: %v, want io.ErrUnexpectedEOF", err)
	}
	g, err := OpenOnlineRetail(p)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := Drain(g); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("draining a truncated gzip file: %v, want io.ErrUnexpectedEOF", err)
	}
}

// Drain, the floor `make rfm` is measured against, reads every byte of the file,
// compressed or plain, over many chunks.
func TestDrainReadsTheWholeFile(t *testing.T) {
	raw := bytes.Repeat([]byte("536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"), 40000)
	plain := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(plain, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{gzipFile(t, raw), plain} {
		f, err := OpenOnlineRetail(p)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Drain(f)
		f.Close()
		if err != nil || n != int64(len(raw)) {
			t.Errorf("%s: drained %d bytes, %v; want %d", filepath.Base(p), n, err, len(raw))
		}
	}
}
