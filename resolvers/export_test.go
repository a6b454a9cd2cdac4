package resolvers

// GridWatchers reports how many slot grids r's subscriptions watch.
func GridWatchers(r *Resolver) int { return r.live.watchers() }
