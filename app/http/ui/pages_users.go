package ui

import (
	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
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

func (s *Pages) PageAdminUsers(c *fiber.Ctx) error {
	ctx := c.UserContext()
	users, err := s.Store.ListUsers(ctx, 0, 200)
	if err != nil {
		return err
	}
	owned, err := s.Store.WorkspacesByOwner(ctx)
	if err != nil {
		return err
	}
	me := request.User(c)
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
		"Pending": pending, "Users": people, "SMTP": s.Config.SMTP.Host != "",
		"Approval": s.Settings.Get().SignupPolicy == "approval",
	})
}
