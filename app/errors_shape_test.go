package app

import (
	"strings"
	"testing"
)

// Programs (Prometheus, SDKs, scripts) get API errors in the JSON shape on
// every path they call; only UI pages render HTML errors.
func TestAPIPathsAnswerJSONErrors(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("shape") // the instance's first user: an instance admin
	plain := ts.quickUser("plain")
	ws := ts.createWorkspace(u, "Shape")
	for _, r := range []req{
		{method: "GET", path: "/metrics"},                     // 401
		{method: "GET", path: "/metrics", token: plain.token}, // 403
		{method: "GET", path: "/metrics/x", token: u.token},   // 404
		{method: "GET", path: "/v1", token: u.token},          // 404
		{method: "GET", path: "/mcp/unknown"},                 // 404
		{method: "GET", path: "/api", token: u.token},         // 404
		{method: "POST", path: "/api/workspaces/" + ws.ID + "/documents", token: u.token, // malformed multipart
			headers: map[string]string{"Content-Type": "multipart/form-data; boundary=zzz"},
			body:    "--zzz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nnot closed"},
	} {
		res := ts.do(r)
		if res.Status < 400 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || res.errCode() == "" {
			t.Errorf("%s %s: %d %s %q", r.method, r.path, res.Status, res.Header.Get("Content-Type"), res.Body)
		}
	}
	if res := ts.do(req{method: "GET", path: "/no-such-page", token: u.token}); !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("a missing page should render HTML: %s", res.Header.Get("Content-Type"))
	}
}
