package ops

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"quire/app/config"
	"quire/app/settings"
	"quire/store"
)

// checkOllamaHosts checks the pool's hosts other than the primary one at
// primary (checkOllama checks that): the configured pool, or the hosts the
// admin added. It returns a check per host, every model the reachable ones
// have, and how many answered.
func checkOllamaHosts(ctx context.Context, st *store.Store, in DoctorInput, primary string) (checks []Check, tags []string, reachable int) {
	hosts, where := in.OllamaHosts, "configured"
	if len(hosts) == 0 {
		var err error
		if hosts, err = settings.StoredOllamaHosts(ctx, st); err != nil {
			return []Check{{"ollama hosts", Fail, "cannot read the Ollama hosts added in Administration → Models: " + err.Error(), "run `quire doctor` again; if it persists the database needs attention"}}, nil, 0
		}
		where = "added in Administration → Models"
	}
	var others []config.OllamaHost
	for _, h := range hosts {
		if u := strings.TrimRight(strings.TrimSpace(h.URL), "/"); u != primary {
			others = append(others, config.OllamaHost{URL: u, Label: h.Label})
		}
	}
	// At once: a pool of unreachable hosts would otherwise take a timeout each.
	found := make([][]string, len(others))
	errs := make([]error, len(others))
	var wg sync.WaitGroup
	for i, h := range others {
		wg.Go(func() { found[i], errs[i] = ollamaModels(ctx, in.HTTP, h.URL) })
	}
	wg.Wait()
	for i, h := range others {
		name := "ollama host " + h.URL
		if h.Label != "" {
			name = fmt.Sprintf("ollama host %s (%s)", h.URL, h.Label)
		}
		if errs[i] != nil {
			checks = append(checks, Check{name, Warn, fmt.Sprintf("%s, %s, is unreachable: %v", h.URL, where, errs[i]),
				"start Ollama there, or remove the host from the pool; calls go to the other hosts meanwhile"})
			continue
		}
		reachable++
		tags = append(tags, found[i]...)
		checks = append(checks, Check{name, OK, fmt.Sprintf("%s (%s) answers with %d models", h.URL, where, len(found[i])), ""})
	}
	return checks, tags, reachable
}
