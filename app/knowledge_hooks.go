package app

import "quire/store"

// runner is the part of the background job runner the HTTP layer drives.
type runner interface {
	Wake()                    // new work was queued
	CancelDocument(id string) // stop a document's running task before it is deleted or reset
}

func (s *Server) kickJobs() {
	if s.jobs != nil {
		s.jobs.Wake()
	}
}

func (s *Server) cancelDocumentJobs(d *store.Document) {
	if s.jobs != nil {
		s.jobs.CancelDocument(d.ID)
	}
}
