package store

import "fmt"

// SetAutoCheckpoint sets SQLite's automatic WAL checkpoint threshold on the
// writer connection (pages; 0 = off). Continuous replication turns it off
// while it runs, because Litestream must checkpoint only frames it has
// copied. The writer is the one long-lived connection, so the setting holds.
func (s *Store) SetAutoCheckpoint(pages int) error {
	if _, err := s.w.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", pages)); err != nil {
		return fmt.Errorf("set wal_autocheckpoint: %w", err)
	}
	return nil
}
