package knowledge_test

import (
	"context"
	"errors"
	"maps"
	"testing"

	"quire/app/fault"
	"quire/app/knowledge"
)

// Bulk actions follow the visibility rules of one document at a time: a
// document restricted to a team is not_found for a member outside it (as
// if it did not exist), forbidden for a team member who did not upload it.
func TestBulkFollowsVisibility(t *testing.T) {
	e := newEnv(t, "http://127.0.0.1:1", "none") // nothing here embeds
	ctx := context.Background()
	eng := e.upload(t, e.ws.ID, "eng.md", "# Engineering\n\nOn call rota.", e.engOnly)
	handbook := e.upload(t, e.ws.ID, "handbook.md", "# Handbook\n\nHolidays.", e.shared)
	own := e.uploadAs(t, e.outsider, e.ws.ID, "mine.md", "# Mine\n\nNotes.")

	res, err := e.svc.Bulk(ctx, e.ws.ID, e.as(e.outsider), knowledge.BulkInput{Action: knowledge.BulkDelete, DocumentIDs: []string{eng.ID, handbook.ID, own.ID}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{knowledge.OutcomeNotFound: 1, knowledge.OutcomeForbidden: 1, knowledge.OutcomeDeleted: 1}
	if !maps.Equal(res.Counts, want) || res.Items[0].Outcome != knowledge.OutcomeNotFound || res.Items[0].Name != "" {
		t.Fatalf("outsider's delete: %+v", res)
	}
	res, err = e.svc.Bulk(ctx, e.ws.ID, e.as(e.member), knowledge.BulkInput{Action: knowledge.BulkReprocess, DocumentIDs: []string{eng.ID}})
	if err != nil || res.Items[0].Outcome != knowledge.OutcomeForbidden || res.Items[0].Name != "eng.md" {
		t.Fatalf("a team member reprocesses the owner's document: %+v, %v", res, err)
	}
	// The team-only knowledge base is invisible to the outsider: 404, not 403.
	_, err = e.svc.Bulk(ctx, e.ws.ID, e.as(e.outsider), knowledge.BulkInput{Action: knowledge.BulkRemoveFromBase, KnowledgeBaseID: e.engOnly.ID, DocumentIDs: []string{eng.ID}})
	if fe := (*fault.Error)(nil); !errors.As(err, &fe) || fe.Kind != fault.NotFound {
		t.Fatalf("outsider on the team's knowledge base: %v", err)
	}
	_, err = e.svc.Bulk(ctx, e.ws.ID, e.as(e.member), knowledge.BulkInput{Action: knowledge.BulkRemoveFromBase, KnowledgeBaseID: e.engOnly.ID, DocumentIDs: []string{eng.ID}})
	if fe := (*fault.Error)(nil); !errors.As(err, &fe) || fe.Kind != fault.Forbidden {
		t.Fatalf("a team member changes the owner's knowledge base: %v", err)
	}
	res, err = e.svc.Bulk(ctx, e.ws.ID, e.admin(), knowledge.BulkInput{Action: knowledge.BulkAddToBase, KnowledgeBaseID: e.engOnly.ID, DocumentIDs: []string{eng.ID, handbook.ID}})
	if err != nil || !maps.Equal(res.Counts, map[string]int{knowledge.OutcomeAlreadyIn: 1, knowledge.OutcomeAdded: 1}) {
		t.Fatalf("admin's add: %+v, %v", res, err)
	}
	if ids, _ := e.st.DocumentKBIDs(ctx, e.ws.ID, e.admin(), handbook.ID); len(ids) != 2 {
		t.Fatalf("the handbook is in %v", ids)
	}
}
