package armstandin

// GroupUnreachable reports whether a whole resource group is cut off (SetUnreachable
// with account ""), so that stand-ins of other services in that region, such as the
// SSISDB one, can go down with it.
func (s *Server) GroupUnreachable(group string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unreachable[key(group, "")]
}
