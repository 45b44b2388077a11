package dataset

import (
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads every record with next, copying each (both readers reuse their slice).
func readAll(next func() ([]string, error)) ([][]string, error) {
	var out [][]string
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, slices.Clone(rec))
	}
}

func viaCSV(in string) ([][]string, error) {
	cr := csv.NewReader(strings.NewReader(in))
	cr.ReuseRecord, cr.FieldsPerRecord = true, -1
	return readAll(cr.Read)
}

// The fast path reads every input exactly as encoding/csv does: the same records, and an
// error where encoding/csv has one.
func TestRecordsReadLikeEncodingCSV(t *testing.T) {
	cases := []struct{ name, in string }{
		{"quoted fields, as the published file", "\"a\",\"b c\",\"1\"\n\"d\",\"e\",\"2\"\n"},
		{"plain fields", "a,b,1\nd,e,2\n"},
		{"a doubled quote is a quote", "\"RECORD FRAME 7\"\" SINGLE\",x\n"},
		{"empty fields and a trailing comma", "a,,\"\",\n,\n"},
		{"empty lines are skipped", "a,b\n\n\nc,d\n"},
		{"CRLF line ends", "a,b\r\nc,d\r\n"},
		{"a carriage return inside a field is kept", "a\rb,c\n"},
		{"a carriage return before the end of input is dropped", "a,b\r"},
		{"no newline at the end", "a,b\nc,d"},
		{"a quoted field across lines", "a,\"b\nc\",d\ne,f\n"},
		{"a comma inside quotes", "\"a,b\",c\n"},
		{"a bare quote is an error", "a,b\"c\n"},
		{"text after a closing quote is an error", "\"a\"b,c\n"},
		{"an unterminated quote is an error", "\"abc\n"},
		{"a field with a quote after the hand-over", "a,b\n\"x\"y,z\nc,d\n"},
		{"rows of different widths", "a\nb,c,d\n"},
		{"a byte order mark stays in the first field", "\ufeffInvoiceNo,b\n1,2\n"},
		{"a byte order mark before a quote is a bare quote", "\ufeff\"InvoiceNo\",b\n"},
		{"quotes doubled at both ends and in the middle", "\"\"\"a\"\"b\"\"\",\"\"\"\"\n"},
		{"an empty quoted field last", "a,\"\"\n"},
		{"only commas", ",,,\n,\n"},
		{"CRLF after a quoted field", "\"a\",\"b,c\"\r\n\"d\"\r\n"},
		{"a CRLF inside quotes", "\"a\r\nb\",c\r\n"},
		{"a lone carriage return line", "a\n\r\nb\n"},
		{"a space before a quote is a bare quote", "a, \"b\"\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, werr := viaCSV(tc.in)
			got, gerr := readAll(newRecords(strings.NewReader(tc.in)).Read)
			if (werr != nil) != (gerr != nil) || !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("records: %q, %v\nencoding/csv: %q, %v", got, gerr, want, werr)
			}
		})
	}
}

// Random lines made of the characters that matter to CSV (commas, quotes, CR, LF, a
// byte order mark) read the same through the byte reader as through encoding/csv,
// records and errors alike. Seeded: a failure names its input and repeats.
func TestRecordsReadLikeEncodingCSVOnRandomInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	// Lines of up to a few hundred bytes: the fast path reads them eight bytes a word.
	parts := []string{"a", "7", ",", ",", ",", "\"", "\"", "\"\"", "\n", "\r\n", "\r", "\ufeff", " ", "x y", "WHITE HANGING HEART"}
	for i := range 30000 {
		var b strings.Builder
		for range rng.IntN(12 + i%60) {
			b.WriteString(parts[rng.IntN(len(parts))])
		}
		in := b.String()
		want, werr := viaCSV(in)
		got, gerr := readAll(newRecords(strings.NewReader(in)).Read)
		if (werr != nil) != (gerr != nil) || !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("input %q\nrecords: %q, %v\nencoding/csv: %q, %v", in, got, gerr, want, werr)
		}
		// The same input in pieces of a few bytes: lines cut across chunks read the same.
		got, gerr = readAll(newRecords(&piecesReader{s: in, rng: rng}).Read)
		if (werr != nil) != (gerr != nil) || !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("input %q in pieces\nrecords: %q, %v\nencoding/csv: %q, %v", in, got, gerr, want, werr)
		}
	}
}

// piecesReader reads s in pieces of 1 to 9 bytes, as a slow pipe might.
type piecesReader struct {
	s   string
	rng *rand.Rand
}

func (p *piecesReader) Read(b []byte) (int, error) {
	if len(p.s) == 0 {
		return 0, io.EOF
	}
	n := copy(b[:min(len(b), 1+p.rng.IntN(9))], p.s)
	p.s = p.s[n:]
	return n, nil
}

// A line over many chunks, longer than the fast path looks for the end of, and what
// follows it read as encoding/csv reads them, whether the input arrives at once or in
// pieces.
func TestRecordsReadALongLineLikeEncodingCSV(t *testing.T) {
	long := strings.Repeat("WHITE HANGING HEART,", maxCarry/10)
	for _, in := range []string{
		"a,b\n" + long + "\"x\"\nc,d\n",
		"a,b\n\"" + long + "\"\nc,\"d\"\n",
		"a,b\n" + long,
	} {
		want, werr := viaCSV(in)
		for _, r := range []io.Reader{strings.NewReader(in), iotest.HalfReader(strings.NewReader(in))} {
			got, gerr := readAll(newRecords(r).Read)
			if (werr != nil) != (gerr != nil) || !slices.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("%d records, %v; encoding/csv %d, %v", len(got), gerr, len(want), werr)
			}
		}
	}
}

// On the real file the fast path never hands over, and its records are encoding/csv's.
func TestRecordsOnTheRealFile(t *testing.T) {
	open := func() io.ReadCloser {
		f, err := OpenOnlineRetail(Require(t, OnlineRetailFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	r := newRecords(open())
	got, err := readAll(r.Read)
	if err != nil || r.cr != nil {
		t.Fatalf("fast path: %v, handed over=%v", err, r.cr != nil)
	}
	cr := csv.NewReader(open())
	cr.ReuseRecord, cr.FieldsPerRecord = true, -1
	want, err := readAll(cr.Read)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%d records, encoding/csv %d: not the same records", len(got), len(want))
	}
}
