package ui

import "quire/store"

// teamCandidates lists, per team, the workspace members not in it yet: the
// "add member" choice offers only people it would change something for.
func teamCandidates(teams []store.Team, members []store.Member) map[int64][]store.Member {
	out := make(map[int64][]store.Member, len(teams))
	for _, t := range teams {
		in := make(map[int64]bool, len(t.Members))
		for _, m := range t.Members {
			in[m.UserID] = true
		}
		for _, m := range members {
			if !in[m.UserID] {
				out[t.ID] = append(out[t.ID], m)
			}
		}
	}
	return out
}
