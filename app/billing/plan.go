// Package billing is Quire's optional Stripe billing: the plans a workspace can
// be on, the Stripe calls (Checkout, customer portal, catalogue sync) and the
// webhook that keeps the local mirror of Stripe's objects up to date.
//
// Plans are declared in Stripe, not in Quire: each product carries Stripe
// Entitlements features whose lookup keys follow the naming scheme below, and
// a workspace's plan is the union of the features of the products its live
// subscription pays for.
package billing

import (
	"slices"
	"strconv"
	"strings"
)

// Feature lookup keys. A numeric key ends in a whole number or "unlimited":
//
//	quire_seats_10            members plus pending invitations
//	quire_documents_500       documents stored in the workspace
//	quire_storage_mb_2048     megabytes of uploaded originals
//	quire_tokens_1000000      model tokens (input + output) per calendar month
//	quire_credit_cents_2500   model cost per calendar month, in cents of the price table's currency
//	quire_public_chats        chats may be published with a public link
//	quire_api_access          workspace API keys and the OpenAI-compatible /v1 API
//
// A kind the plan does not declare keeps the free plan's value; when several
// products declare the same kind, the most generous value wins. Other lookup
// keys are ignored, so marketing features can live next to these.
const (
	keySeats       = "quire_seats_"
	keyDocuments   = "quire_documents_"
	keyStorageMB   = "quire_storage_mb_"
	keyTokens      = "quire_tokens_"
	keyCreditCents = "quire_credit_cents_"
	KeyPublicChats = "quire_public_chats"
	KeyAPIAccess   = "quire_api_access"
)

// Plan is what a workspace may use. A zero numeric limit means unlimited.
type Plan struct {
	Key          string // "self_hosted", "free", or "paid"
	Name         string // for people: "Self-hosted", "Free", or the product names
	Seats        int64
	Documents    int64
	StorageMB    int64
	Tokens       int64 // per calendar month
	CreditMicros int64 // per calendar month, in micro-units of the price table's currency
	PublicChats  bool
	APIAccess    bool
	Features     []string // the lookup keys that made the plan
}

// Plan keys.
const (
	SelfHostedKey = "self_hosted"
	FreeKey       = "free"
	PaidKey       = "paid"
)

// Free is the plan of a workspace without a live subscription when billing is
// on: enough to try Quire with a small team, nothing published, no API.
func Free() Plan {
	return Plan{Key: FreeKey, Name: "Free", Seats: 3, Documents: 50, StorageMB: 100, Tokens: 100_000}
}

// SelfHosted is the plan of every workspace when billing is off: only the
// instance admin's monthly model limits apply (zero = unlimited).
func SelfHosted(tokens, creditMicros int64) Plan {
	return Plan{Key: SelfHostedKey, Name: "Self-hosted", Tokens: tokens, CreditMicros: creditMicros, PublicChats: true, APIAccess: true}
}

// FromFeatures builds a paid plan from the lookup keys of its products' features.
func FromFeatures(name string, lookupKeys []string) Plan {
	p := Free()
	p.Key, p.Name = PaidKey, name
	declared := map[*int64]bool{}
	for _, k := range lookupKeys {
		switch k {
		case KeyPublicChats:
			p.PublicChats = true
		case KeyAPIAccess:
			p.APIAccess = true
		default:
			field, scale := p.numeric(k)
			if field == nil {
				continue
			}
			n, ok := parseAmount(k, scale)
			if !ok {
				continue
			}
			if !declared[field] {
				*field, declared[field] = n, true
			} else {
				*field = generous(*field, n)
			}
		}
		if !slices.Contains(p.Features, k) {
			p.Features = append(p.Features, k)
		}
	}
	return p
}

// numeric returns the limit a numeric key sets and the factor from the key's
// number to the limit's unit.
func (p *Plan) numeric(key string) (*int64, int64) {
	switch {
	case strings.HasPrefix(key, keySeats):
		return &p.Seats, 1
	case strings.HasPrefix(key, keyDocuments):
		return &p.Documents, 1
	case strings.HasPrefix(key, keyStorageMB):
		return &p.StorageMB, 1
	case strings.HasPrefix(key, keyTokens):
		return &p.Tokens, 1
	case strings.HasPrefix(key, keyCreditCents):
		return &p.CreditMicros, 10_000
	}
	return nil, 0
}

// parseAmount reads the number after the key's last underscore; "unlimited" is 0.
func parseAmount(key string, scale int64) (int64, bool) {
	tail := key[strings.LastIndexByte(key, '_')+1:]
	if tail == "unlimited" {
		return 0, true
	}
	n, err := strconv.ParseInt(tail, 10, 64)
	if err != nil || n <= 0 || n > 1<<40 {
		return 0, false
	}
	return n * scale, true
}

// generous picks the larger of two limits, where zero (unlimited) is largest.
func generous(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}

// Live reports whether a subscription status keeps the paid plan's access.
// Anything else — canceled, unpaid, incomplete, paused — falls back to Free.
func Live(status string) bool {
	return status == "active" || status == "trialing" || status == "past_due"
}
