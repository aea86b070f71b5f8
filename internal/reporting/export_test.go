package reporting

// LockPID returns the backend pid of the Sync's lock session (0: none).
func LockPID(s *Sync) uint32 { return s.owner.pid() }
