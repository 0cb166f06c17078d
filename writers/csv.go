package writers

import (
	"bufio"
	"encoding/csv"
	"io"
)

type csvEncoder struct {
	buf *bufio.Writer
	w   *csv.Writer
}

func newCSV(w io.Writer) *csvEncoder {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &csvEncoder{buf: buf, w: csv.NewWriter(buf)}
}

func (e *csvEncoder) write(cells []string) error { return e.w.Write(cells) }

func (e *csvEncoder) flush() error {
	e.w.Flush()
	if err := e.w.Error(); err != nil {
		return err
	}
	return e.buf.Flush()
}
