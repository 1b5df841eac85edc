package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// watchConsole collects console errors, uncaught exceptions and browser log
// errors (CSP violations are reported there) from now on.
func watchConsole(ctx context.Context, t *testing.T) func() []string {
	var mu sync.Mutex
	var errs []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				errs = append(errs, fmt.Sprintf("console.error %v", e.Args))
			}
		case *log.EventEntryAdded:
			// Network entries are answers like the 415 of a refused upload, which the page shows itself.
			if e.Entry.Level == log.LevelError && e.Entry.Source != log.SourceNetwork {
				errs = append(errs, "log: "+e.Entry.Text)
			}
		}
	})
	run(t, ctx, "watch the console", log.Enable(), runtime.Enable())
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), errs...)
	}
}
