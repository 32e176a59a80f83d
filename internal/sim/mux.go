package sim

import "net/http"

// Part is one simulator (or control) that serves paths under its own prefix.
type Part interface {
	Handler() http.Handler
}

// Mount serves each part under its prefix ("/sim/wechat/", "/sim/clock", …)
// on one handler: what development mounts on Banshi's port and `banshi sim`
// serves alone.
func Mount(parts map[string]Part) http.Handler {
	mux := http.NewServeMux()
	for prefix, p := range parts {
		mux.Handle(prefix, p.Handler())
	}
	return mux
}
