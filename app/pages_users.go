package app

import (
	"github.com/gofiber/fiber/v2"

	"quire/store"
)

// adminUserRow is one person on Administration → Users, with what deleting
// them would do to the workspaces they own.
type adminUserRow struct {
	store.User
	Self   bool
	Alone  []store.OwnedWorkspace // deleted with the account
	Shared []store.OwnedWorkspace // block the deletion until transferred
}

func (s *Server) pageAdminUsers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	users, err := s.store.ListUsers(ctx, 0, 200)
	if err != nil {
		return err
	}
	owned, err := s.store.WorkspacesByOwner(ctx)
	if err != nil {
		return err
	}
	me := userOf(c)
	var pending, people []adminUserRow
	for _, u := range users {
		row := adminUserRow{User: u, Self: u.ID == me.ID}
		for _, w := range owned[u.ID] {
			if w.Members > 1 {
				row.Shared = append(row.Shared, w)
			} else {
				row.Alone = append(row.Alone, w)
			}
		}
		if u.Pending {
			pending = append(pending, row)
		} else {
			people = append(people, row)
		}
	}
	return s.render(c, "admin_users", "Users · Admin", fiber.Map{
		"Pending": pending, "Users": people, "SMTP": s.cfg.SMTP.Host != "",
		"Approval": s.currentSettings().SignupPolicy == "approval",
	})
}
