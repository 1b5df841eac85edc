package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// The Stripe mirror: products, prices, entitlement features, subscriptions and
// customers as Stripe last told us (webhooks, or `quire stripe sync`). Every
// upsert carries a version — the Stripe event's creation time, or the time of a
// fetch — and a row only moves forward: an older event delivered late changes
// nothing. Nothing is ever deleted; Stripe's deletions make rows inactive.

// LiveStatuses are the subscription statuses that keep a paid plan's access.
var LiveStatuses = []string{"active", "trialing", "past_due"}

const liveStatusSQL = `('active', 'trialing', 'past_due')`

// Product is a Stripe product (a plan).
type Product struct {
	ID          string
	Name        string
	Description string
	Active      bool
	Metadata    map[string]string
}

// Price is a Stripe price of a product.
type Price struct {
	ID              string
	ProductID       string
	Active          bool
	Currency        string
	UnitAmount      int64 // in the currency's minor unit (cents)
	Type            string
	Interval        string
	IntervalCount   int64
	TrialPeriodDays int64
}

// Feature is a Stripe Entitlements feature; its lookup key is what Quire reads.
type Feature struct {
	ID        string
	LookupKey string
	Name      string
	Active    bool
}

// ProductFeature attaches a feature to a product.
type ProductFeature struct {
	ID        string
	FeatureID string
}

// Subscription is a Stripe subscription bound to a workspace.
type Subscription struct {
	ID                 string
	WorkspaceID        string // "" when Stripe did not say which workspace
	CustomerID         string
	Status             string
	CurrentPeriodStart *time.Time
	CurrentPeriodEnd   *time.Time
	CancelAtPeriodEnd  bool
	TrialEnd           *time.Time
	Items              []SubscriptionItem
}

// SubscriptionItem is one price of a subscription. Price carries what the
// subscription object itself said about the price, so an item can be stored
// before the price's own webhook has arrived.
type SubscriptionItem struct {
	ID       string
	Price    Price
	Quantity int64
}

// Live reports whether the subscription keeps its plan's access.
func (s *Subscription) Live() bool {
	for _, st := range LiveStatuses {
		if s.Status == st {
			return true
		}
	}
	return false
}

// CatalogProduct is an active product with its active prices and features.
type CatalogProduct struct {
	Product
	Prices   []Price
	Features []Feature
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// UpsertProduct stores a product unless a newer version is already stored.
func (s *Store) UpsertProduct(ctx context.Context, p Product, version int64) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO products (id, name, description, active, metadata, stripe_updated, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, active = excluded.active,
			metadata = excluded.metadata, stripe_updated = excluded.stripe_updated, updated_at = excluded.updated_at
		WHERE excluded.stripe_updated >= products.stripe_updated`,
		p.ID, p.Name, p.Description, boolInt(p.Active), jsonMap(p.Metadata), version, now(), now())
	return err
}

// UpsertPrice stores a price unless a newer version is already stored.
func (s *Store) UpsertPrice(ctx context.Context, p Price, version int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return upsertPrice(ctx, tx, p, version) })
}

func upsertPrice(ctx context.Context, tx *sql.Tx, p Price, version int64) error {
	// A price can arrive before its product: keep a placeholder (version 0) that
	// the product's own event or a sync fills in.
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO products (id, name, active, stripe_updated, created_at, updated_at)
		VALUES (?, ?, 1, 0, ?, ?)`, p.ProductID, p.ProductID, now(), now()); err != nil {
		return err
	}
	var trial any
	if p.TrialPeriodDays > 0 {
		trial = p.TrialPeriodDays
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO prices (id, product_id, active, currency, unit_amount, type, interval, interval_count,
			trial_period_days, stripe_updated, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET product_id = excluded.product_id, active = excluded.active, currency = excluded.currency,
			unit_amount = excluded.unit_amount, type = excluded.type, interval = excluded.interval,
			interval_count = excluded.interval_count, trial_period_days = excluded.trial_period_days,
			stripe_updated = excluded.stripe_updated, updated_at = excluded.updated_at
		WHERE excluded.stripe_updated >= prices.stripe_updated`,
		p.ID, p.ProductID, boolInt(p.Active), p.Currency, p.UnitAmount, p.Type, p.Interval, max(p.IntervalCount, 1),
		trial, version, now(), now())
	return err
}

// UpsertFeature stores an entitlement feature.
func (s *Store) UpsertFeature(ctx context.Context, f Feature) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO features (id, lookup_key, name, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET lookup_key = excluded.lookup_key, name = excluded.name, active = excluded.active,
			updated_at = excluded.updated_at`, f.ID, f.LookupKey, f.Name, boolInt(f.Active), now(), now())
	return err
}

// SetProductFeatures makes the product's features exactly these (the features
// themselves must be stored already).
func (s *Store) SetProductFeatures(ctx context.Context, productID string, pfs []ProductFeature) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM product_features WHERE product_id = ?`, productID); err != nil {
			return err
		}
		for _, pf := range pfs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO product_features (id, product_id, feature_id, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, pf.ID, productID, pf.FeatureID, now()); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpsertSubscription stores a subscription and its items unless a newer version
// is already stored; it reports whether it changed anything. A workspace id
// that does not exist (or is empty) keeps the one already stored.
func (s *Store) UpsertSubscription(ctx context.Context, sub Subscription, version int64) (applied bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		for _, it := range sub.Items {
			if err := ensurePrice(ctx, tx, it.Price); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (id, workspace_id, customer_id, status, current_period_start,
				current_period_end, cancel_at_period_end, trial_end, stripe_updated, created_at, updated_at)
			VALUES (?, (SELECT id FROM workspaces WHERE id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET workspace_id = coalesce(excluded.workspace_id, subscriptions.workspace_id),
				customer_id = excluded.customer_id, status = excluded.status,
				current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end,
				cancel_at_period_end = excluded.cancel_at_period_end, trial_end = excluded.trial_end,
				stripe_updated = excluded.stripe_updated, updated_at = excluded.updated_at
			WHERE excluded.stripe_updated >= subscriptions.stripe_updated`,
			sub.ID, sub.WorkspaceID, sub.CustomerID, sub.Status, nullTime(sub.CurrentPeriodStart), nullTime(sub.CurrentPeriodEnd),
			boolInt(sub.CancelAtPeriodEnd), nullTime(sub.TrialEnd), version, now(), now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // an older version than the stored one
		}
		applied = true
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscription_items WHERE subscription_id = ?`, sub.ID); err != nil {
			return err
		}
		for _, it := range sub.Items {
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscription_items (id, subscription_id, price_id, quantity, created_at)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET subscription_id = excluded.subscription_id,
				price_id = excluded.price_id, quantity = excluded.quantity`, it.ID, sub.ID, it.Price.ID, max(it.Quantity, 1), now()); err != nil {
				return err
			}
		}
		return nil
	})
	return applied, err
}

// ensurePrice stores a price seen inside a subscription when it is unknown; the
// price's own events (version > 0) always win over this snapshot.
func ensurePrice(ctx context.Context, tx *sql.Tx, p Price) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM prices WHERE id = ?`, p.ID).Scan(&n); err != nil || n > 0 {
		return err
	}
	return upsertPrice(ctx, tx, p, 0)
}

const subscriptionSelect = `SELECT id, coalesce(workspace_id, ''), customer_id, status, current_period_start, current_period_end,
	cancel_at_period_end, trial_end FROM subscriptions `

func (s *Store) scanSubscription(ctx context.Context, row *sql.Row) (*Subscription, error) {
	var sub Subscription
	var start, end, trial sql.NullString
	if err := row.Scan(&sub.ID, &sub.WorkspaceID, &sub.CustomerID, &sub.Status, &start, &end, &sub.CancelAtPeriodEnd, &trial); err != nil {
		return nil, notFound(err)
	}
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd, sub.TrialEnd = parseNullTime(start), parseNullTime(end), parseNullTime(trial)
	rows, err := s.r.QueryContext(ctx, `SELECT i.id, i.quantity, p.id, p.product_id, p.active, p.currency, p.unit_amount, p.type,
		p.interval, p.interval_count FROM subscription_items i JOIN prices p ON p.id = i.price_id
		WHERE i.subscription_id = ? ORDER BY i.id`, sub.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var it SubscriptionItem
		p := &it.Price
		if err := rows.Scan(&it.ID, &it.Quantity, &p.ID, &p.ProductID, &p.Active, &p.Currency, &p.UnitAmount, &p.Type,
			&p.Interval, &p.IntervalCount); err != nil {
			return nil, err
		}
		sub.Items = append(sub.Items, it)
	}
	return &sub, rows.Err()
}

// GetSubscription loads one subscription by its Stripe id.
func (s *Store) GetSubscription(ctx context.Context, id string) (*Subscription, error) {
	return s.scanSubscription(ctx, s.r.QueryRowContext(ctx, subscriptionSelect+`WHERE id = ?`, id))
}

// WorkspaceSubscription returns the workspace's subscription that decides its
// plan: a live one first, then the most recently changed.
func (s *Store) WorkspaceSubscription(ctx context.Context, wsID string) (*Subscription, error) {
	return s.scanSubscription(ctx, s.r.QueryRowContext(ctx, subscriptionSelect+`WHERE workspace_id = ?
		ORDER BY status IN `+liveStatusSQL+` DESC, stripe_updated DESC, id LIMIT 1`, wsID))
}

// SubscriptionFeatures returns the lookup keys of the features of every product
// the subscription pays for, and the names of those products.
func (s *Store) SubscriptionFeatures(ctx context.Context, subID string) (keys, products []string, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT DISTINCT pr.name, coalesce(f.lookup_key, '') FROM subscription_items i
		JOIN prices p ON p.id = i.price_id JOIN products pr ON pr.id = p.product_id
		LEFT JOIN product_features pf ON pf.product_id = pr.id LEFT JOIN features f ON f.id = pf.feature_id
		WHERE i.subscription_id = ? ORDER BY pr.name, f.lookup_key`, subID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, key string
		if err := rows.Scan(&name, &key); err != nil {
			return nil, nil, err
		}
		if len(products) == 0 || products[len(products)-1] != name {
			products = append(products, name)
		}
		if key != "" {
			keys = append(keys, key)
		}
	}
	return keys, products, rows.Err()
}

// Catalog lists the active products that have an active recurring price, with
// those prices and their features.
func (s *Store) Catalog(ctx context.Context) ([]CatalogProduct, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, description, metadata FROM products WHERE active = 1
		AND EXISTS (SELECT 1 FROM prices WHERE product_id = products.id AND active = 1 AND type = 'recurring') ORDER BY name, id`)
	if err != nil {
		return nil, err
	}
	var out []CatalogProduct
	for rows.Next() {
		var p CatalogProduct
		var meta string
		if err := rows.Scan(&p.ID, &p.Name, &p.Description, &meta); err != nil {
			rows.Close()
			return nil, err
		}
		p.Active = true
		_ = json.Unmarshal([]byte(meta), &p.Metadata)
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Prices, err = s.activePrices(ctx, out[i].ID); err != nil {
			return nil, err
		}
		if out[i].Features, err = s.productFeatures(ctx, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const priceSelect = `SELECT id, product_id, active, currency, unit_amount, type, interval, interval_count, coalesce(trial_period_days, 0) FROM prices `

func scanPrice(row interface{ Scan(...any) error }) (*Price, error) {
	var p Price
	if err := row.Scan(&p.ID, &p.ProductID, &p.Active, &p.Currency, &p.UnitAmount, &p.Type, &p.Interval, &p.IntervalCount, &p.TrialPeriodDays); err != nil {
		return nil, notFound(err)
	}
	return &p, nil
}

func (s *Store) activePrices(ctx context.Context, productID string) ([]Price, error) {
	rows, err := s.r.QueryContext(ctx, priceSelect+`WHERE product_id = ? AND active = 1 AND type = 'recurring' ORDER BY unit_amount, id`, productID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Price
	for rows.Next() {
		p, err := scanPrice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

func (s *Store) productFeatures(ctx context.Context, productID string) ([]Feature, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT f.id, f.lookup_key, f.name, f.active FROM product_features pf
		JOIN features f ON f.id = pf.feature_id WHERE pf.product_id = ? ORDER BY f.lookup_key`, productID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Feature
	for rows.Next() {
		var f Feature
		if err := rows.Scan(&f.ID, &f.LookupKey, &f.Name, &f.Active); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// GetPrice loads a price with whether its product is active.
func (s *Store) GetPrice(ctx context.Context, id string) (p *Price, productActive bool, err error) {
	p, err = scanPrice(s.r.QueryRowContext(ctx, priceSelect+`WHERE id = ?`, id))
	if err != nil {
		return nil, false, err
	}
	err = s.r.QueryRowContext(ctx, `SELECT active FROM products WHERE id = ?`, p.ProductID).Scan(&productActive)
	return p, productActive, notFound(err)
}

// StripeCustomer returns the Stripe customer id of a user (ErrNotFound if none yet).
func (s *Store) StripeCustomer(ctx context.Context, userID int64) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT customer_id FROM stripe_users WHERE user_id = ?`, userID).Scan(&id)
	return id, notFound(err)
}

// SaveStripeCustomer links a user to their Stripe customer; ErrConflict when
// the user already has one (another request won the race).
func (s *Store) SaveStripeCustomer(ctx context.Context, userID int64, customerID string) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO stripe_users (user_id, customer_id, created_at) VALUES (?, ?, ?)`, userID, customerID, now())
	if isUnique(err) {
		return ErrConflict
	}
	return err
}

// CustomerHasSubscribed reports whether a customer ever had a subscription
// (trials are for the first one).
func (s *Store) CustomerHasSubscribed(ctx context.Context, customerID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE customer_id = ?`, customerID).Scan(&n)
	return n > 0, err
}

// WorkspaceHasSubscribed reports whether a workspace ever had a subscription,
// whoever paid for it.
func (s *Store) WorkspaceHasSubscribed(ctx context.Context, wsID string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE workspace_id = ?`, wsID).Scan(&n)
	return n > 0, err
}

// StripeEventSeen reports whether a webhook event was processed already.
func (s *Store) StripeEventSeen(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM stripe_events WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// RecordStripeEvent marks a webhook event processed (a second record is a no-op).
func (s *Store) RecordStripeEvent(ctx context.Context, id, typ string, created int64) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO stripe_events (id, type, created, processed_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, typ, created, now())
	return err
}

// SeatsUsed counts the workspace's members plus its live pending invitations:
// an invitation holds a seat until it is answered or expires.
func (s *Store) SeatsUsed(ctx context.Context, wsID string) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM workspace_memberships WHERE workspace_id = ?)
		+ (SELECT count(*) FROM invitations WHERE workspace_id = ? AND status = 'pending' AND expires_at > ?)`, wsID, wsID, now()).Scan(&n)
	return n, err
}

// DocumentTotals counts the workspace's documents and their stored bytes.
func (s *Store) DocumentTotals(ctx context.Context, wsID string) (count, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(file_size), 0) FROM documents WHERE workspace_id = ?`, wsID).Scan(&count, &bytes)
	return count, bytes, err
}
