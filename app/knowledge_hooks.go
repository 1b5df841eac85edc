package app

// runner is the part of the background job runner the HTTP layer drives.
type runner interface {
	Wake() // new work was queued
}

func (s *Server) kickJobs() {
	if s.jobs != nil {
		s.jobs.Wake()
	}
}
