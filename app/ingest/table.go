package ingest

import (
	"strconv"
	"strings"
)

// tableWriter renders spreadsheet and CSV rows as "Header: value" lines, one
// line per row, so that every chunk of a large table still says what its
// numbers mean. The header is the first row with at least two non-empty
// cells that are not all numbers; rows before it (titles, notes) are written
// as they are.
type tableWriter struct {
	c       *collector
	header  []string
	colName func(i int) string // name for a column without a header cell
	cells   int                // non-empty cells so far
	rows    int
}

func (t *tableWriter) row(cells []string) error {
	t.rows++
	if t.rows > t.c.lim.MaxCells {
		return tooLarge("the %s is too large: more than %s rows", t.c.kind.label(), humanInt(int64(t.c.lim.MaxCells)))
	}
	nonEmpty := 0
	numeric := 0
	for i, v := range cells {
		v = oneLine(v)
		cells[i] = v
		if v == "" {
			continue
		}
		nonEmpty++
		if isNumber(v) {
			numeric++
		}
	}
	t.cells += nonEmpty
	if t.cells > t.c.lim.MaxCells {
		return tooLarge("the %s is too large: more than %s cells", t.c.kind.label(), humanInt(int64(t.c.lim.MaxCells)))
	}
	if nonEmpty == 0 {
		t.c.paragraph() // blank rows usually separate tables
		return t.c.check()
	}
	if t.header == nil && nonEmpty >= 2 && numeric < nonEmpty {
		t.header = append([]string(nil), cells...)
		return nil
	}

	var b strings.Builder
	for i, v := range cells {
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" | ")
		}
		if t.header != nil {
			name := ""
			if i < len(t.header) {
				name = t.header[i]
			}
			if name == "" {
				name = t.colName(i)
			}
			b.WriteString(name)
			b.WriteString(": ")
		}
		b.WriteString(v)
	}
	t.c.line()
	err := t.c.text(b.String())
	t.c.line()
	return err
}

func isNumber(s string) bool {
	s = strings.NewReplacer(",", "", "%", "", "$", "", "€", "", "£", "").Replace(s)
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// columnLetter names a column like a spreadsheet does: 0 → A, 26 → AA.
func columnLetter(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return "Column " + name
}

func columnNumber(i int) string { return "Column " + strconv.Itoa(i+1) }
