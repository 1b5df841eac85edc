package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"quire/app/config"
	"quire/app/http/api"
)

// listen serves the test server on a real loopback socket: how much of a body
// is read before the answer only shows on a real connection.
func (ts *testServer) listen() string {
	ts.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.t.Fatal(err)
	}
	go ts.srv.Serve(ln)
	ts.t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// rawRequest sends head and then only the first part of the body, and reads
// the answer the server gives without waiting for the rest. The answer must
// come through while the client is still sending, not a connection reset.
func rawRequest(t *testing.T, addr, head string, body []byte) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second)) // the old server waited read_timeout (30 s) for all 50 MB
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go conn.Write(body) // a client still sending while the answer comes
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw
}

func TestLargeBodiesAreRefusedBeforeTheyAreRead(t *testing.T) {
	ts := newTestServer(t)
	addr := ts.listen()
	u := ts.quickUser("member")
	ws := ts.createWorkspace(u, "Acme")
	start := time.Now()
	for _, c := range []struct{ name, head string }{
		{"anonymous 50 MB login", "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"},
		// The upload cap is for signed-in callers on upload routes only.
		{"anonymous 40 MB upload", "POST /api/workspaces/" + ws.ID + "/documents HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 41943040\r\n\r\n"},
		{"signed-in 2 MB JSON", "POST /api/workspaces HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + u.token + "\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n"},
		{"upload over the cap", "POST /api/workspaces/" + ws.ID + "/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + u.token + "\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 62914560\r\n\r\n"},
	} {
		res, body := rawRequest(t, addr, c.head, bytes.Repeat([]byte("a"), 4<<20))
		if res.StatusCode != 413 || !strings.Contains(string(body), `"payload_too_large"`) {
			t.Errorf("%s: %d %s", c.name, res.StatusCode, body)
		}
		if !res.Close {
			t.Errorf("%s: the connection stays open with the unread body on it", c.name)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("refusing took %v", d)
	}
	// A chunked body has no declared size: it is cut at max_body_kb.
	var chunked bytes.Buffer
	for range 3 {
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", 512<<10, bytes.Repeat([]byte(" "), 512<<10))
	}
	chunked.WriteString("0\r\n\r\n")
	res, body := rawRequest(t, addr, "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", chunked.Bytes())
	if res.StatusCode != 413 || !strings.Contains(string(body), `"payload_too_large"`) {
		t.Errorf("chunked 1.5 MB login: %d %s", res.StatusCode, body)
	}
	// A small chunked body is read as usual.
	small := `{"email":"` + u.Email + `","password":"` + testPassword + `"}`
	res, body = rawRequest(t, addr, "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
		[]byte(fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(small), small)))
	if res.StatusCode != 200 {
		t.Errorf("small chunked login: %d %s", res.StatusCode, body)
	}
}

// An upload near the cap is streamed to disk: the server's allocations stay a
// small fraction of the file (they were more than the file when it was read
// into memory), and what is stored is the whole file.
func TestUploadNearTheCapStreamsToDisk(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.MaxUploadMB = 16 })
	addr := ts.listen()
	u := ts.quickUser("uploader")
	ws := ts.createWorkspace(u, "Acme")
	const size = 16<<20 - 4096
	chunk := bytes.Repeat([]byte("quarterly numbers, quarterly numbers\n"), 1<<10)
	post := func(size int) *http.Response {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			fw, _ := mw.CreateFormFile("file", "big.txt")
			for n := 0; n < size; {
				k := min(len(chunk), size-n)
				fw.Write(chunk[:k])
				n += k
			}
			mw.WriteField("name", "Numbers")
			pw.CloseWithError(mw.Close())
		}()
		rq, _ := http.NewRequest("POST", "http://"+addr+"/api/workspaces/"+ws.ID+"/documents", pr) // chunked: no length known
		rq.Header.Set("Content-Type", mw.FormDataContentType())
		rq.Header.Set("Authorization", "Bearer "+u.token)
		res, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := post(size)
	runtime.ReadMemStats(&after)
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("upload near the cap: %d %s", res.StatusCode, raw)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("uploading %d bytes allocated %d bytes (client and server)", size, alloc)
	if alloc > size/4 {
		t.Errorf("uploading %d bytes allocated %d bytes", size, alloc)
	}
	var d api.DocumentJSON
	if err := json.Unmarshal(raw, &d); err != nil || d.FileSize != size || d.Name != "Numbers" {
		t.Fatalf("document %+v (%v)", d, err)
	}
	if fi, err := os.Stat(filepath.Join(ts.cfg.FilesDir(), ws.ID, d.ID)); err != nil || fi.Size() != size {
		t.Fatalf("stored file: %v %v", fi, err)
	}
	// One byte over the cap: 413, and nothing is left behind.
	res = post(16<<20 + 1)
	raw, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 413 || !strings.Contains(string(raw), `"payload_too_large"`) {
		t.Fatalf("over the cap: %d %s", res.StatusCode, raw)
	}
	if left, _ := filepath.Glob(filepath.Join(ts.cfg.FilesDir(), ws.ID, ".upload-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func TestMultipartAndEncodingErrorsAnswerJSON(t *testing.T) {
	ts := newTestServer(t)
	u := ts.quickUser("uploader")
	ws := ts.createWorkspace(u, "Acme")
	path := "/api/workspaces/" + ws.ID + "/documents"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte(" "), 4<<20)) // 4 MB of JSON whitespace in a few KB
	zw.Close()
	for _, c := range []struct {
		name, path, body string
		headers          map[string]string
		status           int
		code, field      string
	}{
		{"no boundary", path, "--x\r\n", map[string]string{"Content-Type": "multipart/form-data"}, 415, "unsupported_media_type", ""},
		{"not multipart", path, "hello", map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", ""},
		{"truncated", path, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello",
			map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 400, "invalid_request", ""},
		{"garbage", path, "this is not multipart at all", map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 400, "invalid_request", ""},
		{"no file", path, "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nx\r\n--b--\r\n",
			map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 400, "invalid_request", "file"},
		{"two files", path, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.txt\"\r\n\r\ny\r\n--b--\r\n",
			map[string]string{"Content-Type": "multipart/form-data; boundary=b"}, 400, "invalid_request", "file"},
		// Fiber would inflate a compressed body in full, past every limit.
		{"gzip JSON", "/api/workspaces", gz.String(), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}, 415, "unsupported_media_type", ""},
	} {
		res := ts.do(req{method: "POST", path: c.path, body: c.body, token: u.token, headers: c.headers})
		if res.Status != c.status || res.errCode() != c.code || res.errField() != c.field {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(ts.cfg.FilesDir(), ws.ID, ".upload-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
