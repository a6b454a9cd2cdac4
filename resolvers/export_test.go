package resolvers

// GridWatchers reports how many slot grids r's subscriptions watch.
func GridWatchers(r *Resolver) int { return r.live.watchers() }

// GridEncodings reports how many grid responses r's subscriptions have built over the
// handler's websockets and streams (those served from another's are not counted).
func GridEncodings(r *Resolver) int64 { return r.live.encodings.Load() }
