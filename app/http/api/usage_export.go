package api

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/config"
	"quire/app/http/request"
)

// ExportUsage is the usage table as a CSV file for a spreadsheet: one row
// per day, model or person, with exact numbers (cost with all six decimals).
func (s *Handlers) ExportUsage(c *fiber.Ctx) error {
	from, to, err := UsageRange(c)
	if err != nil {
		return err
	}
	groupBy := c.Query("group_by", "day")
	header := map[string]string{"day": "day", "model": "model", "user": "person"}[groupBy]
	if header == "" {
		return request.Invalid("group_by", "group_by must be day, model or user")
	}
	series, err := s.Store.UsageSeries(c.UserContext(), request.Workspace(c).ID, from, to, groupBy)
	if err != nil {
		return err
	}
	currency := s.Config.Currency()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	cols := []string{header, "calls", "input_tokens", "output_tokens", "cost", "currency"}
	if groupBy == "user" {
		cols = append([]string{"user_id"}, cols...)
	}
	w.Write(cols)
	for _, p := range series {
		row := []string{spreadsheetSafe(p.Label), strconv.FormatInt(p.Calls, 10), strconv.FormatInt(p.InputTokens, 10),
			strconv.FormatInt(p.OutputTokens, 10), ExactMoney(p.CostMicros, ""), currency}
		if groupBy == "user" {
			row = append([]string{spreadsheetSafe(p.Key)}, row...)
		}
		w.Write(row)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="quire-usage-by-%s-%s-to-%s.csv"`,
		header, from.Format("2006-01-02"), to.Format("2006-01-02")))
	c.Set("X-Content-Type-Options", "nosniff")
	return c.Send(buf.Bytes())
}

// spreadsheetSafe keeps a cell from being read as a formula: a spreadsheet
// evaluates text that starts with = + - @ (also after leading blanks, tabs
// and line breaks), so such a cell gets a leading apostrophe, which
// spreadsheets show as plain text. A model name or a person's name is
// chosen by whoever set it up, not by the person opening the file.
func spreadsheetSafe(s string) string {
	if t := strings.TrimLeft(s, " \t\r\n"); t != "" && strings.ContainsRune("=+-@", rune(t[0])) {
		return "'" + s
	}
	return s
}

// ExactMoney is an amount with all six decimals the store keeps (tooltips, CSV).
func ExactMoney(micros int64, currency string) string {
	return strings.TrimSpace(currency + " " + config.FormatMicros(micros))
}
