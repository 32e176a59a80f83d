package api

import "sync/atomic"

// draining records that the process is shutting down: from then on /readyz
// answers 503 so that load balancers stop routing here, while every other
// route keeps serving until the listener closes. It only ever turns on.
type draining struct{ flag atomic.Bool }

func (d *draining) on() bool { return d.flag.Load() }

// StartDraining makes /readyz answer 503 not_ready (check "shutdown":
// "draining") from now on, on the API and on the operators' handler alike;
// other routes are unaffected. It is what serve does on SIGTERM before the
// shutdown delay; it is safe to call from any goroutine, more than once.
func (s *Server) StartDraining() { s.drain.flag.Store(true) }

// Draining reports whether StartDraining was called.
func (s *Server) Draining() bool { return s.drain.on() }
