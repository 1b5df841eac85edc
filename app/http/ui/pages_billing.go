package ui

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"quire/app/billing"
	"quire/app/fault"
	"quire/app/http/api"
	"quire/app/http/request"
	"quire/app/knowledge"
	"quire/store"
)

func init() {
	// Pages ask billingOn to show the Billing link; initBilling turns it on per server.
	funcs["billingOn"] = func() bool { return false }
	funcs["money"] = money
}

// money renders a Stripe amount in minor units, e.g. 2000 usd → "20.00 USD".
// (Zero-decimal currencies such as JPY are shown as if they had cents.)
func money(minor int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", minor/100, minor%100, strings.ToUpper(currency))
}

// PageBilling is /w/:ws/billing. Without billing there is no such page: the
// visitor lands on the workspace.
func (s *Pages) PageBilling(c *fiber.Ctx) error {
	ws := request.Workspace(c)
	if s.Billing == nil {
		// Said on the page asked for: sending people to the overview left them wondering where billing went.
		return s.render(c, "billing", "Billing · "+ws.Name, fiber.Map{"Off": true, "Plan": s.Plan.OrFree(c.UserContext(), ws.ID).Name, "Admin": request.User(c).IsAdmin})
	}
	v, err := s.api.LoadWorkspaceBilling(c.UserContext(), ws)
	if err != nil {
		return err
	}
	cat, err := s.Store.Catalog(c.UserContext())
	if err != nil {
		return err
	}
	return s.render(c, "billing", "Billing · "+ws.Name, fiber.Map{
		"Billing": v, "Plans": api.MapSlice(cat, api.PlanView), "Owner": ws.Role == store.RoleOwner,
		"Live": v.Subscription != nil && billing.Live(v.Subscription.Status), "Checkout": c.Query("checkout"),
	})
}

func (s *Pages) PageAdminBackups(c *fiber.Ctx) error {
	list, err := s.Backups.List()
	if err != nil {
		return err
	}
	return s.render(c, "admin_backups", "Backups · Admin", fiber.Map{
		"Backups": list, "Interval": s.Config.BackupInterval.Duration, "Keep": s.Config.BackupKeep, "Dir": s.Config.BackupsDir(),
	})
}

func (s *Pages) PageSearch(c *fiber.Ctx) error {
	ws, v := request.Workspace(c), request.Viewer(c)
	in := knowledge.SearchInput{Query: c.Query("q"), Mode: c.Query("mode")}
	if kb := c.Query("kb"); kb != "" {
		in.KnowledgeBaseIDs = []string{kb}
	}
	data := fiber.Map{"Query": in.Query, "Mode": in.Mode, "KB": c.Query("kb")}
	kbs, err := s.Store.ListKnowledgeBases(c.UserContext(), ws.ID, v, "", "", 200)
	if err != nil {
		return err
	}
	data["KBs"] = kbs
	if strings.TrimSpace(in.Query) != "" {
		res, err := s.Knowledge.Search(c.UserContext(), ws.ID, v, in)
		if f, ok := fault.As(err); ok {
			data["Error"] = f.Message
		} else if err != nil {
			return err
		} else {
			data["Results"], data["Mode"] = api.MapSlice(res.Results, api.HitView), res.Asked
			data["Searched"] = true
		}
	}
	return s.render(c, "search", "Search · "+ws.Name, data)
}
