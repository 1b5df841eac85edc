package ollamatest

// Kill ends the server and its runners at once with SIGKILL, as a crashed or
// unplugged machine would: streams in progress break off mid-answer, unlike
// Stop, which lets ollama finish its requests. The server's directory stays,
// so Launch with the same Dir and Port brings the same host back. Stop may
// still be called afterwards.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	killGroup(s.cmd.Process.Pid)
	_ = s.cmd.Process.Kill() // where there are no process groups
	<-s.exited
}
