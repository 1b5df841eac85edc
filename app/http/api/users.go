package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"quire/app/http/request"
	"quire/store"
)

// AdminUserJSON is an account as instance administration sees it.
type AdminUserJSON struct {
	UserJSON
	Pending bool   `json:"pending"`
	Status  string `json:"status"` // active, pending (signup waiting for approval) or deactivated
}

func adminUserView(u *store.User) AdminUserJSON {
	status := "active"
	switch {
	case u.Pending:
		status = "pending"
	case u.Disabled:
		status = "deactivated"
	}
	return AdminUserJSON{userView(u), u.Pending, status}
}

// PasswordLinkJSON answers an admin's account creation or password reset: the
// link is shown to the admin once, to pass on when mail only reached the outbox.
type PasswordLinkJSON struct {
	PasswordURL string `json:"password_url"`
	Mailed      bool   `json:"mailed"`
}

func userParam(c *fiber.Ctx) (int64, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, request.NotFound("user")
	}
	return id, nil
}

func (s *Handlers) AdminCreateUser(c *fiber.Ctx) error {
	var in struct {
		Email   string `json:"email"`
		Name    string `json:"name"`
		IsAdmin bool   `json:"is_admin"`
	}
	if err := request.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.Account.AdminCreate(c.UserContext(), request.User(c), in.Email, in.Name, in.IsAdmin)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(struct {
		AdminUserJSON
		PasswordLinkJSON
	}{adminUserView(out.User), PasswordLinkJSON{out.PasswordURL, out.Mailed}})
}

func (s *Handlers) AdminDeleteUser(c *fiber.Ctx) error {
	id, err := userParam(c)
	if err != nil {
		return err
	}
	if err := s.Account.AdminDelete(c.UserContext(), request.User(c), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (s *Handlers) AdminApproveUser(c *fiber.Ctx) error {
	id, err := userParam(c)
	if err != nil {
		return err
	}
	u, err := s.Account.Approve(c.UserContext(), request.User(c), id)
	if err != nil {
		return err
	}
	return c.JSON(adminUserView(u))
}

func (s *Handlers) AdminResetPassword(c *fiber.Ctx) error {
	id, err := userParam(c)
	if err != nil {
		return err
	}
	u, link, mailed, err := s.Account.AdminResetPassword(c.UserContext(), request.User(c), id)
	if err != nil {
		return err
	}
	return c.JSON(struct {
		Email string `json:"email"`
		PasswordLinkJSON
	}{u.Email, PasswordLinkJSON{link, mailed}})
}
