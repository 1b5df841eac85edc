package app

import (
	"net"
	"strings"
	"testing"
)

// A member must not learn from the error whether a port is closed, resets or
// hangs: that would make the fetcher a port scanner.
func TestFetchErrorsDoNotRevealPortState(t *testing.T) {
	ts := newTestServer(t)
	u := ts.signup("scan")
	ws := ts.createWorkspace(u, "Scan")
	ts.must(200, req{method: "PATCH", path: "/api/admin/settings", token: u.token, body: map[string]bool{"allow_private_urls": true}})

	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	resets, _ := net.Listen("tcp", "127.0.0.1:0")
	defer resets.Close()
	go func() {
		for {
			c, err := resets.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	var msgs []string
	for _, addr := range []string{closedAddr, resets.Addr().String(), "does-not-exist.invalid:80"} {
		res := ts.must(400, req{method: "POST", path: "/api/workspaces/" + ws.ID + "/documents/url", token: u.token,
			body: map[string]string{"url": "http://" + addr + "/"}})
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		res.json(&e)
		msgs = append(msgs, strings.ReplaceAll(e.Error.Message, addr, "HOST"))
	}
	for _, m := range msgs[1:] {
		if m != msgs[0] {
			t.Fatalf("errors tell the cases apart: %q", msgs)
		}
	}
	for _, leak := range []string{"refused", "reset", "timeout", "no such host"} {
		if strings.Contains(msgs[0], leak) {
			t.Fatalf("error reveals %q: %s", leak, msgs[0])
		}
	}
}
