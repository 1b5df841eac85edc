package app

import (
	"context"
	"strings"
	"testing"

	"quire/app/config"
	"quire/app/http/api"
)

func TestUsageIsRecordedWithOllamaCounts(t *testing.T) {
	o := ollamaForTest(t)
	ts := newTestServer(t, func(c *config.Config) {
		c.OllamaURL = o.URL
		c.Prices = map[string]config.Price{o.ChatModel: {InputPerMillion: "1000", OutputPerMillion: "2000"}}
	})
	setModels(t, ts, o)
	u, cp := chatFixture(ts)
	var out struct {
		AssistantMessage api.MessageJSON `json:"assistant_message"`
	}
	ts.must(201, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "count me"}}).json(&out)
	a := out.AssistantMessage
	wsID := strings.Split(cp, "/")[3]

	var byModel struct {
		TotalCost    string `json:"total_cost"`
		InputTokens  int64  `json:"input_tokens"`
		OutputTokens int64  `json:"output_tokens"`
		Series       []api.UsagePointJSON
	}
	// The title is generated after the reply; wait for its row too.
	for range 250 { // up to 5 s
		ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/usage?group_by=model", token: u.token}).json(&byModel)
		if len(byModel.Series) == 1 && byModel.Series[0].Calls == 2 {
			break
		}
		sleepBriefly()
	}
	if len(byModel.Series) != 1 || byModel.Series[0].Calls != 2 || byModel.Series[0].Key != o.ChatModel {
		t.Fatalf("series %+v (want the chat call and the title call)", byModel.Series)
	}
	if byModel.InputTokens < int64(a.InputTokens) || byModel.OutputTokens < int64(a.OutputTokens) || a.InputTokens == 0 {
		t.Fatalf("usage %+v does not include the reply's counts %d/%d", byModel, a.InputTokens, a.OutputTokens)
	}
	// Cost from the price table: tokens × price per million, exactly.
	want := config.FormatMicros((byModel.InputTokens*1000_000_000 + byModel.OutputTokens*2000_000_000 + 500_000) / 1_000_000)
	if byModel.TotalCost != want {
		t.Fatalf("cost %s, want %s", byModel.TotalCost, want)
	}
	var me struct {
		TotalCost   string               `json:"total_cost"`
		ByWorkspace []api.UsagePointJSON `json:"by_workspace"`
	}
	ts.must(200, req{method: "GET", path: "/api/me/usage", token: u.token}).json(&me)
	if me.TotalCost != want || len(me.ByWorkspace) != 1 || me.ByWorkspace[0].Label != "Acme" {
		t.Fatalf("my usage %+v", me)
	}
	costs, _ := ts.store.WorkspaceCosts(context.Background(), wsID)
	if config.FormatMicros(costs.CostMicros) != want {
		t.Fatalf("workspace_costs %d", costs.CostMicros)
	}
	for _, g := range []string{"day", "user"} {
		var r struct{ Series []api.UsagePointJSON }
		ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/usage?group_by=" + g, token: u.token}).json(&r)
		if len(r.Series) != 1 {
			t.Fatalf("group_by=%s: %+v", g, r.Series)
		}
	}
	ts.must(400, req{method: "GET", path: "/api/workspaces/" + wsID + "/usage?group_by=planet", token: u.token})
	ts.must(400, req{method: "GET", path: "/api/workspaces/" + wsID + "/usage?from=yesterday", token: u.token})
	page := ts.must(200, req{method: "GET", path: "/w/" + wsID + "/usage", headers: map[string]string{"Cookie": "quire_session=" + u.token}})
	if !strings.Contains(string(page.Body), "<svg class=\"chart wide\"") {
		t.Fatal("usage page has no chart")
	}
}

func TestPlanLimitRefusesBeforeTheCall(t *testing.T) {
	ts, _ := newOllamaServer(t)
	u, cp := chatFixture(ts)
	wsID := strings.Split(cp, "/")[3]
	ts.must(201, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "one"}})
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: u.token, body: map[string]any{"token_limit": 1}})
	var lim map[string]any
	ts.must(200, req{method: "GET", path: "/api/workspaces/" + wsID + "/usage/limits", token: u.token}).json(&lim)
	if lim["token_limit"].(float64) != 1 || lim["tokens_used"].(float64) < 1 || lim["plan"] != "self_hosted" {
		t.Fatalf("limits %+v", lim)
	}
	res := ts.must(402, req{method: "POST", path: cp + "/messages", token: u.token, body: map[string]string{"content": "two"}})
	if res.errCode() != "quota_exceeded" || !strings.Contains(string(res.Body), "renews") {
		t.Fatalf("over the limit: %s", res.Body)
	}
	var msgs api.List[api.MessageJSON]
	ts.must(200, req{method: "GET", path: cp + "/messages", token: u.token}).json(&msgs)
	if last := msgs.Items[len(msgs.Items)-1]; last.Content != "two" || last.Role != "user" {
		t.Fatalf("the refused question was lost: %+v", last)
	}
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: u.token, body: map[string]any{"token_limit": 0, "credit_limit": "0.000001"}})
	ts.must(400, req{method: "PATCH", path: "/api/admin/settings", token: u.token, body: map[string]any{"credit_limit": "lots"}})
}
