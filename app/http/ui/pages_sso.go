package ui

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"quire/app/fault"
	"quire/app/http/request"
	"quire/app/identity"
)

// ssoCookie ties a sign-in at a provider to the browser that started it. It
// is sent only to the callback, and SameSite=Lax lets the provider's
// redirect (a top-level GET from another site) carry it.
const (
	ssoCookie     = "quire_sso"
	ssoCookiePath = "/auth/oidc/"
)

// loginData is what the sign-in page shows: the providers' buttons and
// whether password sign-in is left to administrators.
func (s *Pages) loginData(c *fiber.Ctx) fiber.Map {
	return fiber.Map{
		"Next":        SafeNext(c.Query("next")),
		"Policy":      s.Settings.Get().SignupPolicy,
		"SSO":         s.Identity.Providers(),
		"PasswordOff": s.Settings.Get().PasswordLoginDisabled,
		"LDAP":        s.Identity.LDAPEnabled(),
	}
}

// PageLogin is the sign-in page.
func (s *Pages) PageLogin(c *fiber.Ctx) error {
	if request.Identity(c) != nil {
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return s.render(c, "login", "Sign in", s.loginData(c))
}

func (s *Pages) secureCookies() bool { return strings.HasPrefix(s.Config.PublicURL(), "https://") }

// SSOStart sends the browser to the provider, remembering the sign-in in a
// short-lived cookie.
func (s *Pages) SSOStart(c *fiber.Ctx) error {
	authURL, secret, err := s.Identity.Begin(c.UserContext(), c.Params("provider"), SafeNext(c.Query("next")))
	if err != nil {
		return s.loginFailed(c, err)
	}
	c.Cookie(&fiber.Cookie{Name: ssoCookie, Value: secret, Path: ssoCookiePath, MaxAge: int((10 * time.Minute).Seconds()),
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secureCookies()})
	return c.Redirect(authURL, fiber.StatusSeeOther)
}

// SSOCallback finishes the sign-in the provider sent the browser back from.
func (s *Pages) SSOCallback(c *fiber.Ctx) error {
	secret := c.Cookies(ssoCookie)
	// Used up whatever the outcome: a second callback with it finds nothing.
	c.Cookie(&fiber.Cookie{Name: ssoCookie, Value: "", Path: ssoCookiePath, Expires: time.Unix(0, 0), MaxAge: -1,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secureCookies()})
	res, err := s.Identity.Finish(c.UserContext(), c.Params("provider"), secret, identity.Callback{
		State: c.Query("state"), Code: c.Query("code"), Error: c.Query("error"), ErrorDescription: c.Query("error_description")})
	if err != nil {
		return s.loginFailed(c, err)
	}
	if res.Pending {
		data := s.loginData(c)
		data["Notice"] = "Your account was created and waits for an administrator's approval; you can sign in once it is approved."
		c.Status(fiber.StatusAccepted)
		return s.render(c, "login", "Sign in", data)
	}
	c.Cookie(&fiber.Cookie{
		Name: request.SessionCookie, Value: res.Session.Secret, Path: "/", Expires: res.Session.Expires,
		HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secureCookies(),
	})
	return c.Redirect(SafeNext(res.Next), fiber.StatusSeeOther)
}

// loginFailed shows the sign-in page with why single sign-on did not work;
// what is not a use-case failure is the server's (the error page).
func (s *Pages) loginFailed(c *fiber.Ctx, err error) error {
	if _, ok := fault.As(err); !ok {
		return err
	}
	ae := request.ToAPIError(err)
	data := s.loginData(c)
	data["Error"] = ae.Message
	c.Status(ae.Status)
	return s.render(c, "login", "Sign in", data)
}
