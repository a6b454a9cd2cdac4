package main

import (
	"io"
	"io/fs"
	"testing"
)

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"268435456", 268435456, true},
		{"256MiB", 256 << 20, true},
		{" 1GiB ", 1 << 30, true},
		{"512KiB", 512 << 10, true},
		{"2TiB", 2 << 40, true},
		{"100B", 100, true},
		{"0", 0, true},
		{"off", 0, true},
		{"", 0, false},
		{"MiB", 0, false},
		{"256MB", 0, false},
		{"1.5GiB", 0, false},
		{"-1GiB", 0, false},
		{"256 MiB", 0, false},
		{"9000000TiB", 0, false},
	} {
		got, err := parseBytes(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, n := range []int64{0, 100, 256 << 20, 3 << 30, 1<<30 + 1} {
		if back, err := parseBytes(formatBytes(n)); n > 0 && (err != nil || back != n) {
			t.Errorf("formatBytes(%d) = %q, read back as %d, %v", n, formatBytes(n), back, err)
		}
	}
}

// The memory limit and GOGC as the rule decides them (main.go): GOMEMLIMIT first, then
// --memory-limit, then 75% of the cgroup's limit (v2, else v1); GOGC=400 only with a limit and
// only when GOGC is not set.
func TestDecideGC(t *testing.T) {
	const v2, v1 = "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	for _, tc := range []struct {
		name  string
		env   map[string]string
		flag  []string // --memory-limit's value, when given
		files map[string]string
		want  gcSettings
	}{
		{"no limit anywhere", nil, nil, nil, gcSettings{}},
		{"cgroup v2 without a limit", nil, nil, map[string]string{v2: "max\n"}, gcSettings{}},
		{"cgroup v2 limit", nil, nil, map[string]string{v2: "268435456\n"}, gcSettings{memoryLimit: 192 << 20, limitFrom: "cgroup", gcPercent: 400}},
		{"cgroup v1 limit", nil, nil, map[string]string{v1: "1073741824\n"}, gcSettings{memoryLimit: 768 << 20, limitFrom: "cgroup", gcPercent: 400}},
		{"cgroup v1 without a limit", nil, nil, map[string]string{v1: "9223372036854771712\n"}, gcSettings{}},
		{"cgroup v2 before v1", nil, nil, map[string]string{v2: "max", v1: "1073741824"}, gcSettings{}},
		{"an unreadable cgroup limit", nil, nil, map[string]string{v2: "lots"}, gcSettings{}},
		{"flag over the cgroup", nil, []string{"512MiB"}, map[string]string{v2: "268435456"},
			gcSettings{memoryLimit: 512 << 20, limitFrom: "--memory-limit", gcPercent: 400}},
		{"flag of none over the cgroup", nil, []string{"0"}, map[string]string{v2: "268435456"}, gcSettings{}},
		{"variable", map[string]string{"APPHUB_MEMORY_LIMIT": "1GiB"}, nil, nil,
			gcSettings{memoryLimit: 1 << 30, limitFrom: "--memory-limit", gcPercent: 400}},
		{"GOMEMLIMIT over the flag", map[string]string{"GOMEMLIMIT": "300MiB"}, []string{"512MiB"}, map[string]string{v2: "268435456"},
			gcSettings{memoryLimit: 300 << 20, limitFrom: "GOMEMLIMIT", gcPercent: 400}},
		{"GOMEMLIMIT off", map[string]string{"GOMEMLIMIT": "off"}, nil, map[string]string{v2: "268435456"}, gcSettings{}},
		{"GOGC kept with a limit", map[string]string{"GOGC": "200"}, []string{"1GiB"}, nil,
			gcSettings{memoryLimit: 1 << 30, limitFrom: "--memory-limit", envGOGC: "200"}},
		{"GOGC kept without one", map[string]string{"GOGC": "off"}, nil, nil, gcSettings{envGOGC: "off"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c config
			fset, err := newFlagSet("serve", &c, envFunc(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var args []string
			if tc.flag != nil {
				args = []string{"--memory-limit", tc.flag[0]}
			}
			if err := fset.Parse(args); err != nil {
				t.Fatal(err)
			}
			readFile := func(name string) ([]byte, error) {
				if data, ok := tc.files[name]; ok {
					return []byte(data), nil
				}
				return nil, fs.ErrNotExist
			}
			if got := decideGC(c.memoryLimit, envFunc(tc.env), readFile); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	var c config
	if _, err := newFlagSet("serve", &c, envFunc(map[string]string{"APPHUB_MEMORY_LIMIT": "lots"}), io.Discard); err == nil {
		t.Fatal("APPHUB_MEMORY_LIMIT=lots accepted")
	}
}
