package app

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quire/app/chat"
	"quire/app/http/api"
	"quire/app/llm"
)

// BenchmarkReplyOverhead measures time-to-first-token and full-reply time of the
// same question asked through Quire (HTTP + SSE + storage) and straight to
// Ollama, in the same run, and reports Quire's overhead as a ratio and in ms.
//
//	go test ./app -run '^$' -bench ReplyOverhead -benchtime 50x
func BenchmarkReplyOverhead(b *testing.B) {
	ts, o := newOllamaServer(b)
	ts.srv.chatPosts.Max = b.N + 1 // one user asks b.N times: past the posts-per-minute cap
	u, cp := chatFixture(ts)
	wsBase := cp[:strings.Index(cp, "/chats/")]
	base := "http://" + ts.listen()
	direct, err := llm.New(o.URL, llm.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var directFirst, directFull, quireFirst, quireFull time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var first time.Duration
		if _, err := chat.Stream(context.Background(), direct, chat.Build(chat.Request{Model: o.ChatModel, Question: "How does Quire answer?", ContextLength: 4096}),
			func(string) {
				if first == 0 {
					first = time.Since(start)
				}
			}); err != nil {
			b.Fatal(err)
		}
		directFirst += first
		directFull += time.Since(start)

		// A fresh chat each time, so Quire's prompt is the same as the direct one
		// (no growing history).
		b.StopTimer()
		var ch api.ChatJSON
		ts.must(201, req{method: "POST", path: wsBase + "/chats", token: u.token, body: map[string]string{"name": "bench"}}).json(&ch)
		cp = wsBase + "/chats/" + ch.ID
		b.StartTimer()
		start = time.Now()
		r, _ := http.NewRequest("POST", base+cp+"/messages", strings.NewReader(`{"content":"How does Quire answer?"}`))
		r.Header.Set("Authorization", "Bearer "+u.token)
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(resp.Body)
		first = 0
		for sc.Scan() {
			if first == 0 && sc.Text() == "event: delta" {
				first = time.Since(start)
			}
			if sc.Text() == "event: done" {
				break
			}
		}
		resp.Body.Close()
		quireFull += time.Since(start)
		quireFirst += first
		// Let the detached generation finish its bookkeeping (title, usage).
		for ts.srv.answer.Running(strings.TrimPrefix(cp[strings.LastIndex(cp, "/"):], "/")) != nil {
			time.Sleep(time.Millisecond)
		}
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(ms(directFirst), "direct-ttft-ms")
	b.ReportMetric(ms(quireFirst), "quire-ttft-ms")
	b.ReportMetric(ms(directFull), "direct-reply-ms")
	b.ReportMetric(ms(quireFull), "quire-reply-ms")
	b.ReportMetric(float64(quireFull)/float64(directFull), "reply-overhead-x")
}

// BenchmarkConcurrentChats: replies per second with 32 chats asking at once.
//
//	go test ./app -run '^$' -bench ConcurrentChats -benchtime 320x
func BenchmarkConcurrentChats(b *testing.B) {
	ts, _ := newOllamaServer(b)
	const chats = 32
	paths := make([]string, chats)
	owners := make([]user, chats)
	for i := range chats {
		owners[i], paths[i] = chatFixture(ts)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if res := ts.do(req{method: "POST", path: paths[i] + "/messages", token: owners[i].token, body: map[string]string{"content": "Hello?"}}); res.Status != 201 {
					b.Errorf("status %d: %s", res.Status, res.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "replies/s")
}
