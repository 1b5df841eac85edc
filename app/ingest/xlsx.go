package ingest

import (
	"context"
	"errors"
	"io"
	"strings"

	"quire/app/units"

	"github.com/xuri/excelize/v2"
)

// parseXLSX reads every worksheet with excelize, which formats cells as
// Excel displays them (dates, percentages, currency) and streams rows. Each
// sheet becomes a section headed by its name, rows rendered by tableWriter.
//
// Zip-bomb protection: openZip checks entry count, declared sizes and
// compression ratios before excelize sees the file; excelize then enforces
// UnzipSizeLimit on the declared sizes, and archive/zip refuses entries
// that inflate past their declared size. Worksheets above
// UnzipXMLSizeLimit are streamed from a temporary file instead of memory.
func parseXLSX(ctx context.Context, r io.ReaderAt, size int64, lim Limits) (*Parsed, error) {
	if _, err := openZip(KindXLSX, r, size, lim); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
		UnzipSizeLimit:    lim.MaxUncompressed,
		UnzipXMLSizeLimit: min(lim.MaxUncompressed, 16<<20),
	})
	if err != nil {
		return nil, xlsxError(err, lim)
	}
	defer f.Close()

	c := newCollector(ctx, KindXLSX, lim)
	tw := &tableWriter{c: c, colName: columnLetter}
	for _, sheet := range f.GetSheetList() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rows, err := f.Rows(sheet)
		if err != nil {
			continue // chart sheets and dialog sheets have no rows
		}
		c.section(sheet, 0)
		tw.header = nil
		for rows.Next() {
			cols, err := rows.Columns()
			if err != nil {
				rows.Close()
				return nil, xlsxError(err, lim)
			}
			if err := tw.row(cols); err != nil {
				rows.Close()
				return nil, err
			}
		}
		err = rows.Error()
		rows.Close()
		if err != nil {
			return nil, xlsxError(err, lim)
		}
	}
	title := ""
	if props, err := f.GetDocProps(); err == nil && props != nil {
		title = props.Title
	}
	return &Parsed{Title: title, Sections: c.sections()}, nil
}

func xlsxError(err error, lim Limits) error {
	if errors.Is(err, excelize.ErrWorkbookPassword) || errors.Is(err, excelize.ErrWorkbookFileFormat) {
		return encrypted(err)
	}
	if strings.Contains(err.Error(), "unzip size") {
		return tooLarge("the spreadsheet is too large: its contents expand to more than %s", units.Bytes(lim.MaxUncompressed))
	}
	return damaged(KindXLSX, err)
}
