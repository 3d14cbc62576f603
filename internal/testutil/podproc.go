package testutil

import (
	"os"
	"strconv"
	"strings"
)

// PodProcessPID returns the host PID of a process named comm (any process
// when comm is "") in the pod with UID podUID, found by its cgroup path (the
// systemd driver writes the UID with underscores, cgroupfs with dashes), or
// 0 when none runs.
func PodProcessPID(podUID, comm string) int {
	if podUID == "" {
		return 0
	}
	under := strings.ReplaceAll(podUID, "-", "_")
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cg, _ := os.ReadFile("/proc/" + e.Name() + "/cgroup")
		if !strings.Contains(string(cg), "pod"+podUID) && !strings.Contains(string(cg), "pod"+under) {
			continue
		}
		if comm == "" {
			return pid
		}
		c, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
		if strings.TrimSpace(string(c)) == comm {
			return pid
		}
	}
	return 0
}
