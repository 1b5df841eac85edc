package app

import (
	"context"
	"sync"
	"testing"
	"time"

	"quire/app/audit"
	"quire/app/http/api"
)

// BenchmarkAuditOverhead measures an audited request (a document download)
// without the audit log, with it, and with it while other goroutines flood
// the log with events, in the same run; it reports each mode's time per
// request and the ratios to the run without the log.
//
//	go test ./app -run '^$' -bench AuditOverhead -benchtime 2000x
func BenchmarkAuditOverhead(b *testing.B) {
	ts := newTestServer(b)
	u := ts.signup("bench")
	ws := ts.createWorkspace(u, "Bench")
	var doc api.DocumentJSON
	ts.upload(u, ws.ID, "a.md", []byte("# A\n\nsome text"), nil).json(&doc)
	path := "/api/workspaces/" + ws.ID + "/documents/" + doc.ID + "/file"
	log := ts.srv.audit

	// Modes take turns in rounds, so that load from elsewhere on the machine
	// falls on each alike.
	var took [3]time.Duration
	stop := make(chan struct{})
	var flooding sync.WaitGroup
	round := func(mode int, n int) {
		switch mode {
		case 0:
			ts.srv.audit = nil // the HTTP layer without a log: its audit step records nothing
		default:
			ts.srv.audit = log
		}
		ts.rewire()
		if mode == 2 {
			stop = make(chan struct{})
			for range 4 { // 4 × 1,000 events every 10 ms: 400,000 a second, above what one writer keeps up with
				flooding.Go(func() {
					ctx := audit.WithActor(context.Background(), audit.Actor{UserID: u.ID, Kind: audit.KindSession})
					tick := time.NewTicker(10 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							for range 1000 {
								log.Record(ctx, audit.Event{Action: "passages.read", Workspace: ws.ID, Target: audit.Target{Type: "document", ID: doc.ID}})
							}
						}
					}
				})
			}
		}
		start := time.Now()
		for range n {
			ts.must(200, req{method: "GET", path: path, token: u.token})
		}
		took[mode] += time.Since(start)
		if mode == 2 {
			close(stop)
			flooding.Wait()
		}
	}
	b.ResetTimer()
	const rounds = 10
	per := max(b.N/rounds, 1)
	for range rounds {
		for mode := range 3 {
			round(mode, per)
		}
	}
	n := time.Duration(per * rounds)
	off, on, flood := took[0]/n, took[1]/n, took[2]/n
	b.StopTimer()
	written, dropped, _ := log.Stats()
	b.ReportMetric(float64(off.Microseconds()), "µs/req-off")
	b.ReportMetric(float64(on.Microseconds()), "µs/req-on")
	b.ReportMetric(float64(flood.Microseconds()), "µs/req-flood")
	b.ReportMetric(float64(on)/float64(off), "on/off")
	b.ReportMetric(float64(flood)/float64(off), "flood/off")
	b.ReportMetric(float64(written), "rows-written")
	b.ReportMetric(float64(dropped), "events-dropped")
}
