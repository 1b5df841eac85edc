package plan_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"quire/app/billing"
	"quire/app/config"
	"quire/app/fault"
	"quire/app/plan"
	"quire/store"
)

type env struct {
	st   *store.Store
	ws   *store.Workspace
	user *store.User
}

func newEnv(t *testing.T) env {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "quire.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	u, err := st.CreateUser(t.Context(), "owner@example.com", "Owner", "x", true)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := st.CreateWorkspace(t.Context(), u.ID, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	return env{st, ws, u}
}

func selfHosted(tokens, credit int64) func() (int64, int64) {
	return func() (int64, int64) { return tokens, credit }
}

// Parallel reservations never together pass a small token limit, and settling
// a call replaces its reservation by the real usage.
func TestParallelReservationsStayWithinTheLimit(t *testing.T) {
	e := newEnv(t)
	const limit, each = 1000, 150
	p := plan.New(plan.Config{Store: e.st, SelfHosted: selfHosted(limit, 0)})
	var mu sync.Mutex
	var holds []plan.Hold
	refused := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := p.Reserve(t.Context(), e.ws.ID, "m", each-50, 50)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				holds = append(holds, h)
			case fault.Is(err, fault.Quota) && strings.Contains(err.Error(), "tokens for this month left") && strings.Contains(err.Error(), "max_tokens"):
				refused++
			default:
				t.Errorf("reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	if len(holds) != limit/each || refused != 20-limit/each {
		t.Fatalf("%d reservations held, %d refused; want %d held", len(holds), refused, limit/each)
	}
	// Settle one for less than its estimate, release the rest: the room comes back.
	p.Settle(t.Context(), holds[0], plan.Call{WorkspaceID: e.ws.ID, Kind: store.UsageChat, Model: "m", UserID: e.user.ID, Input: 30, Output: 20, Duration: time.Second})
	for _, h := range holds[1:] {
		p.Release(t.Context(), h)
	}
	from, _ := plan.Period(time.Now())
	used, err := e.st.PeriodUsage(t.Context(), e.ws.ID, from)
	if err != nil || used.InputTokens != 30 || used.OutputTokens != 20 {
		t.Fatalf("period usage %+v %v", used, err)
	}
	n := 0
	for {
		if _, err := p.Reserve(t.Context(), e.ws.ID, "m", each-50, 50); err != nil {
			break
		}
		n++
	}
	if n != (limit-50)/each {
		t.Fatalf("after settling, %d reservations fit; want %d", n, (limit-50)/each)
	}
}

func TestCostAndCreditLimit(t *testing.T) {
	e := newEnv(t)
	p := plan.New(plan.Config{Store: e.st, SelfHosted: selfHosted(0, 1_000_000),
		Prices: map[string]config.Price{"paid": {InputPerMillion: "2.50", OutputPerMillion: "10"}}})
	if c := p.Cost("paid", 1000, 100); c != 3500 {
		t.Errorf("cost of 1000 in + 100 out: %d micros, want 3500", c)
	}
	if c := p.Cost("local", 1000, 100); c != 0 {
		t.Errorf("an unlisted model costs %d", c)
	}
	if _, err := p.Reserve(t.Context(), e.ws.ID, "local", 1_000_000, 0); err != nil {
		t.Fatalf("a free model refused under a credit-only limit: %v", err)
	}
	_, err := p.Reserve(t.Context(), e.ws.ID, "paid", 1_000_000, 0)
	if !fault.Is(err, fault.Quota) || !strings.Contains(err.Error(), "monthly credit") {
		t.Fatalf("over the credit: %v", err)
	}
}

// On the free plan (billing on, no subscription) the gates refuse with the
// plan's name and the upgrade hint; without billing they all pass.
func TestGatesOnTheFreePlan(t *testing.T) {
	e := newEnv(t)
	b := billing.New(billing.Config{SecretKey: "sk_test_x"}, e.st, nil)
	p := plan.New(plan.Config{Store: e.st, Billing: b})
	ctx := t.Context()
	hint := "the workspace owner can change the plan on the Billing page"
	for name, err := range map[string]error{"api": p.APIAccess(ctx, e.ws.ID), "public": p.PublicChats(ctx, e.ws.ID)} {
		if !fault.Is(err, fault.Quota) || !strings.Contains(err.Error(), "the Free plan does not include") || !strings.Contains(err.Error(), hint) {
			t.Errorf("%s gate: %v", name, err)
		}
	}
	free := billing.Free()
	if seats, err := p.Seats(ctx, e.ws.ID); err != nil || seats != free.Seats {
		t.Errorf("seats with one member: %d %v", seats, err)
	}
	for i := range free.Seats - 1 {
		u, err := e.st.CreateUser(ctx, fmt.Sprintf("m%d@example.com", i), "M", "x", true)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.st.AddMember(ctx, e.ws.ID, u.ID, store.RoleMember); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Seats(ctx, e.ws.ID); !fault.Is(err, fault.Quota) || !strings.Contains(err.Error(), "all are taken") {
		t.Errorf("seats when full: %v", err)
	}
	if lim, err := p.Documents(ctx, e.ws.ID, 1<<20); err != nil || lim.Documents != free.Documents || lim.Bytes != free.StorageMB<<20 {
		t.Errorf("documents: %+v %v", lim, err)
	}
	if _, err := p.Documents(ctx, e.ws.ID, (free.StorageMB+1)<<20); !fault.Is(err, fault.Quota) || !strings.Contains(err.Error(), "MB of documents") {
		t.Errorf("storage over the plan: %v", err)
	}
	if err := p.DocumentLimitError(store.DocumentLimits{Documents: 50}, store.ErrDocumentLimit); !fault.Is(err, fault.Quota) {
		t.Errorf("store's document refusal: %v", err)
	}
	if lim := p.LimitsOf(ctx, e.ws.ID); lim.Plan != billing.FreeKey || lim.TokenLimit != free.Tokens {
		t.Errorf("limits %+v", lim)
	}

	self := plan.New(plan.Config{Store: e.st, SelfHosted: selfHosted(0, 0)})
	if err := self.APIAccess(ctx, e.ws.ID); err != nil {
		t.Errorf("self-hosted API gate: %v", err)
	}
	if _, err := self.Seats(ctx, e.ws.ID); err != nil {
		t.Errorf("self-hosted seats: %v", err)
	}
	if h, err := self.Reserve(ctx, e.ws.ID, "m", 1<<30, 0); err != nil || h.ID != 0 {
		t.Errorf("unlimited reserve: %+v %v", h, err)
	}
}
