package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// sheet is a file's table as text: the header and the data rows, each with the row
// number a spreadsheet shows (the header is row 1).
type sheet struct {
	Header   []string
	Rows     [][]string
	RowNum   []int
	Encoding string // what the file was read as: "UTF-8", "UTF-8 with BOM", "GB18030", "UTF-16", "xlsx"
}

// maxImportBytes bounds what is read into memory: the whole of UCI Online Retail is 45 MB.
const maxImportBytes = 512 << 20

// readSheet reads a CSV (plain or .gz; UTF-8, UTF-8 with a BOM, UTF-16 with a BOM, or
// GB18030, the encoding of Chinese Excel's CSV export) or the first sheet of an .xlsx
// (or the named one). encoding forces one ("utf-8", "gb18030"); "" detects it.
func readSheet(path, encoding, sheetName string) (*sheet, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".xlsx" || ext == ".xlsm" {
		return readXLSX(path, sheetName)
	}
	if ext == ".xls" {
		return nil, fmt.Errorf("%s: the old binary .xls format is not read; save it as .xlsx or CSV", filepath.Base(path))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if ext == ".gz" {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
		}
		defer zr.Close()
		r = zr
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if len(raw) > maxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d MB: split it", filepath.Base(path), maxImportBytes>>20)
	}
	text, enc, err := decodeText(raw, encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	s, err := parseCSV(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	s.Encoding = enc
	return s, nil
}

// decodeText turns the file's bytes into UTF-8. Without a BOM, text that is valid UTF-8
// is UTF-8; anything else is read as GB18030 (a superset of GBK and GB2312), which is
// what Chinese Windows and Excel write.
func decodeText(raw []byte, forced string) (string, string, error) {
	switch strings.ToLower(strings.ReplaceAll(forced, "-", "")) {
	case "":
	case "utf8":
		raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(raw) {
			return "", "", errors.New("is not valid UTF-8 (try --encoding gb18030)")
		}
		return string(raw), "UTF-8", nil
	case "gb18030", "gbk", "gb2312":
		out, err := decodeWith(raw, simplifiedchinese.GB18030.NewDecoder())
		return out, "GB18030", err
	default:
		return "", "", fmt.Errorf("unknown encoding %q: use utf-8 or gb18030", forced)
	}
	switch {
	case bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")):
		raw = raw[3:]
		if !utf8.Valid(raw) {
			return "", "", errors.New("starts with a UTF-8 byte order mark but is not valid UTF-8")
		}
		return string(raw), "UTF-8 with BOM", nil
	case bytes.HasPrefix(raw, []byte("\xff\xfe")), bytes.HasPrefix(raw, []byte("\xfe\xff")):
		// Excel's "Unicode text" export.
		out, err := decodeWith(raw, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())
		return out, "UTF-16", err
	case utf8.Valid(raw):
		return string(raw), "UTF-8", nil
	}
	out, err := decodeWith(raw, simplifiedchinese.GB18030.NewDecoder())
	return out, "GB18030", err
}

func decodeWith(raw []byte, t transform.Transformer) (string, error) {
	out, _, err := transform.Bytes(t, raw)
	if err != nil {
		return "", fmt.Errorf("decode: %w", err)
	}
	return string(out), nil
}

// parseCSV reads comma-, semicolon- or tab-separated text; the header line decides which.
func parseCSV(text string) (*sheet, error) {
	first, _, _ := strings.Cut(text, "\n")
	comma := ','
	for _, d := range []rune{'\t', ';'} {
		if strings.Count(first, string(d)) > strings.Count(first, string(comma)) {
			comma = d
		}
	}
	cr := csv.NewReader(strings.NewReader(text))
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // short rows are the row's problem, not the file's
	cr.LazyQuotes = true
	s := &sheet{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if s.Header == nil {
			if blank(rec) {
				continue
			}
			s.Header = rec
			continue
		}
		if blank(rec) {
			continue
		}
		s.Rows = append(s.Rows, rec)
		s.RowNum = append(s.RowNum, line)
	}
	if s.Header == nil {
		return nil, errors.New("the file is empty")
	}
	return s, nil
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// readXLSX reads a sheet's cells as stored: a date is its serial number and an amount
// its plain number, whatever the cell's display format, so that both are read exactly.
func readXLSX(path, name string) (*sheet, error) {
	f, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", filepath.Base(path), err)
	}
	defer f.Close()
	if name == "" {
		name = f.GetSheetName(f.GetActiveSheetIndex())
		if name == "" {
			name = f.GetSheetName(0)
		}
	}
	rows, err := f.Rows(name)
	if err != nil {
		return nil, fmt.Errorf("%s: sheet %q: %w", filepath.Base(path), name, err)
	}
	defer rows.Close()
	s := &sheet{Encoding: "xlsx"}
	for n := 1; rows.Next(); n++ {
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", filepath.Base(path), n, err)
		}
		if blank(rec) {
			continue
		}
		if s.Header == nil {
			s.Header = rec
			continue
		}
		s.Rows = append(s.Rows, rec)
		s.RowNum = append(s.RowNum, n)
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if s.Header == nil {
		return nil, fmt.Errorf("%s: sheet %q is empty", filepath.Base(path), name)
	}
	return s, nil
}
