package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// build is what the binary knows of itself: the stamp the go command writes into every build
// (module version, VCS revision, Go release), so that an operator can tell which code answers
// without a version kept by hand.
type build struct {
	version  string // the module's version: a tag, a pseudo-version from the VCS, or "(devel)"
	revision string // the VCS commit, "" when the build recorded none (go run, go test)
	modified bool   // the working tree had changes not committed
	goVer    string
}

func readBuild() build {
	b := build{version: "(devel)", goVer: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Version != "" {
		b.version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

func (b build) String() string {
	rev := b.revision
	if rev == "" {
		rev = "unknown"
	}
	if b.modified {
		rev += ", modified"
	}
	return fmt.Sprintf("apphub %s (revision %s, %s)", b.version, rev, b.goVer)
}

// version is the version the hub reports (GraphQL's hub.version, /readyz, the start log).
func version() string { return readBuild().version }

// registerBuildInfo exposes the build as apphub_build_info{version,revision,go} 1, the usual
// way to join a build's labels to other series.
func registerBuildInfo(reg prometheus.Registerer, b build) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "apphub_build_info",
		Help: "The build of this process: its module version, VCS revision and Go release; always 1.",
	}, []string{"version", "revision", "go"})
	g.WithLabelValues(b.version, b.revision, b.goVer).Set(1)
	reg.MustRegister(g)
}
