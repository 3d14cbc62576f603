package podresolve

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// conmonPrefix starts the name of CRI-O's container monitor cgroups
// ("crio-conmon-<id>.scope" with the systemd driver, "crio-conmon-<id>"
// with cgroupfs).
const conmonPrefix = "crio-conmon-"

// findConmon lists the conmon cgroups directly below the pod's cgroup v2
// directory, where CRI-O puts them (conmon_cgroup = "pod").
func (p *Pod) findConmon() {
	if p.CgroupV2Dir == "" {
		return
	}
	entries, err := os.ReadDir(p.CgroupV2Dir)
	if err != nil {
		p.conmonUnknown = true
		return
	}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), conmonPrefix) {
			p.ConmonCgroupDirs = append(p.ConmonCgroupDirs, filepath.Join(p.CgroupV2Dir, e.Name()))
		}
	}
}

// SyscallCgroupDirs returns the cgroup v2 directories whose subtrees hold
// exactly the pod's containers: the pod's own directory when no conmon
// cgroup is below it, else each container's directory, so that conmon
// never gets the pod's faults. It fails when no directory would do.
func (p *Pod) SyscallCgroupDirs() ([]string, error) {
	if p.CgroupV2Dir == "" {
		return nil, errors.New("the pod has no cgroup v2 directory")
	}
	if len(p.ConmonCgroupDirs) == 0 && !p.conmonUnknown {
		return []string{p.CgroupV2Dir}, nil
	}
	var dirs []string
	seen := map[string]bool{}
	for _, proc := range p.Processes {
		d := proc.CgroupV2Dir
		if d == "" || seen[d] || strings.HasPrefix(filepath.Base(d), conmonPrefix) {
			continue
		}
		seen[d] = true
		dirs = append(dirs, d)
	}
	if len(dirs) == 0 {
		return nil, errors.New("the pod's cgroup holds CRI-O's conmon and no container has a cgroup v2 directory of its own: no scope would leave conmon out")
	}
	return dirs, nil
}
