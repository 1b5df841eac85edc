package billing

import (
	"reflect"
	"testing"
)

func TestFromFeatures(t *testing.T) {
	p := FromFeatures("Team", []string{"quire_seats_10", "quire_seats_25", "quire_tokens_1000000", "quire_storage_mb_unlimited",
		"quire_credit_cents_2500", "quire_public_chats", "marketing_badge", "quire_documents_abc"})
	free := Free()
	want := Plan{Key: PaidKey, Name: "Team", Seats: 25, Documents: free.Documents, StorageMB: 0, Tokens: 1_000_000,
		CreditMicros: 25_000_000, PublicChats: true, APIAccess: false}
	p.Features = nil
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plan\n got %+v\nwant %+v", p, want)
	}
	if u := FromFeatures("X", []string{"quire_seats_5", "quire_seats_unlimited"}); u.Seats != 0 {
		t.Errorf("unlimited should win: %d", u.Seats)
	}
	if f := FromFeatures("Empty", nil); f.Seats != free.Seats || f.Tokens != free.Tokens || f.APIAccess || f.PublicChats {
		t.Errorf("a plan without features keeps the free limits: %+v", f)
	}
}

func TestLiveStatuses(t *testing.T) {
	for st, want := range map[string]bool{"active": true, "trialing": true, "past_due": true, "canceled": false, "unpaid": false,
		"incomplete": false, "incomplete_expired": false, "paused": false} {
		if Live(st) != want {
			t.Errorf("Live(%q) = %v", st, !want)
		}
	}
}
