package identity

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"quire/app/fault"
	"quire/store"
)

// Bounds on what a provider's groups may be: a token with a million groups
// must not become a million comparisons per workspace.
const (
	maxGroups   = 1000
	maxGroupLen = 256
)

// ApplyGroups applies every workspace's group rules to the person with these
// groups (store.ApplyGroupRules): managed memberships follow the groups,
// hand-made ones stay.
func (s *Service) ApplyGroups(ctx context.Context, userID int64, groups []string) error {
	wss, err := s.st.GroupRuleWorkspaces(ctx)
	if err != nil {
		return err
	}
	for _, ws := range wss {
		ch, err := s.st.ApplyGroupRules(ctx, ws, userID, groups)
		if errors.Is(err, store.ErrNotFound) {
			continue // the workspace went meanwhile
		}
		if err != nil {
			return err
		}
		if ch.Joined || ch.Left || len(ch.TeamsAdded) > 0 || len(ch.TeamsRemoved) > 0 {
			s.log.Info("group rules applied", "user_id", userID, "workspace_id", ws, "joined", ch.Joined, "left", ch.Left,
				"role", ch.Role, "teams_added", ch.TeamsAdded, "teams_removed", ch.TeamsRemoved)
		}
	}
	return nil
}

// cleanGroups keeps the groups that can be compared with a rule: printable,
// at most maxGroupLen bytes, at most maxGroups of them.
func cleanGroups(in []string) []string {
	out := make([]string, 0, min(len(in), maxGroups))
	for _, g := range in {
		if len(out) == maxGroups {
			break
		}
		if g = strings.TrimSpace(g); g != "" && len(g) <= maxGroupLen && utf8.ValidString(g) && !strings.ContainsFunc(g, unicode.IsControl) {
			out = append(out, g)
		}
	}
	return out
}

// CheckGroupName validates a rule's group as typed by a workspace admin.
func CheckGroupName(raw string) (string, error) {
	g := strings.TrimSpace(raw)
	if g == "" || len(g) > maxGroupLen || !utf8.ValidString(g) || strings.ContainsFunc(g, unicode.IsControl) {
		return "", fault.Field("group", "a group is its name as the provider sends it (e.g. engineering, or an LDAP DN), at most %d characters without control characters", maxGroupLen)
	}
	return g, nil
}
