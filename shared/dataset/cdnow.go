package dataset

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tierflow/tierflow/shared/model"
)

// The CDNOW files of Fader, Hardie & Lee (2005), relative to Dir().
const (
	CDNOWMasterFile = "cdnow/CDNOW_master.txt"
	CDNOWSampleFile = "cdnow/CDNOW_sample.txt"
)

// CDNOWPurchase is one line of a CDNOW file: a customer's purchase of CDs on a day.
// CustomerID is always the master file's id, so that the sample's customers can be found
// in the master file.
type CDNOWPurchase struct {
	CustomerID string
	Date       time.Time // midnight UTC: the files carry dates, not times
	CDs        int
	Amount     model.Money // cents; a few purchases are 0.00
}

// ReadCDNOW reads CDNOW_master.txt (id, date, CDs, dollars) or CDNOW_sample.txt (master
// id, sample id, date, CDs, dollars); the layout is recognised from the number of fields,
// which must be the same on every line. The files are published and fixed, so any line
// that does not parse fails the read with its line number rather than being skipped.
func ReadCDNOW(r io.Reader) ([]CDNOWPurchase, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 1<<20)
	out := make([]CDNOWPurchase, 0, 1<<12)
	width := 0
	var lastID []byte
	var lastIDStr string
	fields := make([][]byte, 0, 6)
	for line := 1; sc.Scan(); line++ {
		fields = fields[:0]
		for _, f := range bytes.Fields(sc.Bytes()) { // Fields also drops the CR of CRLF
			fields = append(fields, f)
		}
		if len(fields) == 0 {
			continue
		}
		if width == 0 {
			width = len(fields)
			if width != 4 && width != 5 {
				return nil, fmt.Errorf("read cdnow line %d: %d fields, want 4 (master) or 5 (sample): %w", line, width, ErrFormat)
			}
		}
		if len(fields) != width {
			return nil, fmt.Errorf("read cdnow line %d: %d fields, want %d like line 1: %w", line, len(fields), width, ErrFormat)
		}
		rest := fields[width-3:]
		date, err := time.Parse("20060102", string(rest[0]))
		if err != nil {
			return nil, fmt.Errorf("read cdnow line %d: date %q is not YYYYMMDD: %w", line, rest[0], ErrFormat)
		}
		cds, err := strconv.Atoi(string(rest[1]))
		if err != nil || cds < 0 {
			return nil, fmt.Errorf("read cdnow line %d: CD count %q is not a whole number: %w", line, rest[1], ErrFormat)
		}
		micro, err := parseMicro(string(rest[2]))
		if err != nil {
			return nil, fmt.Errorf("read cdnow line %d: dollar value %q: %v: %w", line, rest[2], err, ErrFormat)
		}
		// Lines of one customer are adjacent; reusing the string keeps 70k lines to 24k ids.
		if !bytes.Equal(fields[0], lastID) {
			lastID = append(lastID[:0], fields[0]...)
			lastIDStr = string(fields[0])
		}
		out = append(out, CDNOWPurchase{
			CustomerID: lastIDStr,
			Date:       date,
			CDs:        cds,
			Amount:     model.Money(roundDiv(micro, 10_000)),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read cdnow: %w", err)
	}
	return out, nil
}
