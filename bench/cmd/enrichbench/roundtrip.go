package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/xuri/excelize/v2"
)

// roundTrip reads in and writes every row to out through the same library
// the tool uses for that format, and does nothing else: the floor the
// tool's local overhead is measured against. It runs in a child process
// (enrichbench roundtrip IN OUT) so that its peak memory is its own.
func roundTrip(in, out string) error {
	switch strings.ToLower(filepath.Ext(in)) {
	case ".csv":
		return roundTripCSV(in, out)
	case ".parquet":
		return roundTripParquet(in, out)
	case ".xlsx":
		return roundTripXLSX(in, out)
	}
	return fmt.Errorf("roundtrip %s: unknown format", in)
}

func roundTripCSV(in, out string) error {
	src, err := os.Open(in)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	r := csv.NewReader(src)
	r.ReuseRecord = true
	w := csv.NewWriter(dst)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			dst.Close()
			return err
		}
		if err := w.Write(rec); err != nil {
			dst.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func roundTripParquet(in, out string) error {
	pf, err := file.OpenParquetFile(in, false)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	dst, err := os.Create(out)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	fw, err := pqarrow.NewFileWriter(rr.Schema(), dst, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		dst.Close()
		return err
	}
	for rr.Next() {
		if err := fw.WriteBuffered(rr.RecordBatch()); err != nil {
			fw.Close()
			return err
		}
	}
	if err := rr.Err(); err != nil && !errors.Is(err, io.EOF) {
		fw.Close()
		return err
	}
	return fw.Close()
}

func roundTripXLSX(in, out string) error {
	src, err := excelize.OpenFile(in)
	if err != nil {
		return err
	}
	defer src.Close()
	sheet := src.GetSheetName(0)
	rows, err := src.Rows(sheet)
	if err != nil {
		return err
	}
	dst := excelize.NewFile()
	defer dst.Close()
	sw, err := dst.NewStreamWriter("Sheet1")
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() {
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		vals := make([]any, len(cols))
		for i, c := range cols {
			vals[i] = c
		}
		n++
		cell, _ := excelize.CoordinatesToCellName(1, n)
		if err := sw.SetRow(cell, vals); err != nil {
			return err
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return dst.SaveAs(out)
}
