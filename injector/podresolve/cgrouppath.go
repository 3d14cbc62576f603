package podresolve

import (
	"regexp"
	"strconv"
	"strings"
)

// CgroupRef is what one cgroup path says about the pod and container that a
// process belongs to.
type CgroupRef struct {
	// PodUID is the pod's UID with dashes, as in the pod's metadata.
	PodUID string
	// ContainerID is the runtime's container ID (hex, without a runtime
	// prefix), or empty for a process in the pod cgroup itself.
	ContainerID string
	// PodPath is the cgroup path up to and including the pod's directory.
	PodPath string
	// ContainerPath is the cgroup path up to and including the container's
	// directory, or empty.
	ContainerPath string
	// Conmon is true for CRI-O's container monitor, which lives in the pod's
	// cgroup but in the host's namespaces and is not part of the pod.
	Conmon bool
}

var (
	// systemd driver: kubepods-besteffort-pod<uid_with_underscores>.slice,
	// kubepods-burstable-pod….slice, kubepods-pod….slice (guaranteed).
	// A UID is a UUID (8-4-4-4-12 hex digits) or, for static pods, 32 hex
	// digits; nothing else is taken for one.
	systemdPod = regexp.MustCompile(`^(?:[a-z0-9_]+-)?kubepods(?:-[a-z]+)?-pod(` + uidPattern("_") + `)\.slice$`)
	// cgroupfs driver: pod<uid> below kubepods/ or kubepods/<qos>/.
	cgroupfsPod = regexp.MustCompile(`^pod(` + uidPattern("-") + `)$`)
	hexID       = regexp.MustCompile(`^[0-9a-fA-F]{12,128}$`)
)

// uidPattern matches a pod UID whose groups are separated by sep, or the 32
// hex digits of a static pod's UID.
func uidPattern(sep string) string {
	h := func(n int) string { return "[0-9a-fA-F]{" + strconv.Itoa(n) + "}" }
	return h(8) + sep + h(4) + sep + h(4) + sep + h(4) + sep + h(12) + "|" + h(32)
}

// containerPrefixes are the runtimes' prefixes of container cgroup names.
var containerPrefixes = []string{"cri-containerd-", "crio-", "docker-", "containerd-", "libpod-"}

// ParseCgroupPath reads the pod UID and container ID from a cgroup path as
// found in /proc/PID/cgroup. ok is false for paths outside any pod.
func ParseCgroupPath(path string) (ref CgroupRef, ok bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	sawKubepods := false
	for i, seg := range segs {
		if strings.Contains(seg, "kubepods") {
			sawKubepods = true
		}
		var uid string
		if m := systemdPod.FindStringSubmatch(seg); m != nil {
			uid = strings.ReplaceAll(m[1], "_", "-")
		} else if m := cgroupfsPod.FindStringSubmatch(seg); m != nil && sawKubepods {
			uid = m[1]
		} else {
			continue
		}
		ref = CgroupRef{PodUID: strings.ToLower(uid), PodPath: "/" + strings.Join(segs[:i+1], "/")}
		if i+1 < len(segs) {
			id, conmon := parseContainerSegment(segs[i+1])
			ref.Conmon = conmon
			if id != "" {
				ref.ContainerID = id
				ref.ContainerPath = "/" + strings.Join(segs[:i+2], "/")
			}
		}
		return ref, true
	}
	return CgroupRef{}, false
}

// parseContainerSegment reads a container ID from the cgroup directory name
// below a pod's: "cri-containerd-<id>.scope", "crio-<id>.scope",
// "docker-<id>.scope" (systemd driver) or "<id>" (cgroupfs driver).
func parseContainerSegment(seg string) (id string, conmon bool) {
	name := strings.TrimSuffix(seg, ".scope")
	if strings.HasPrefix(name, "crio-conmon-") {
		return "", true
	}
	for _, p := range containerPrefixes {
		if rest, ok := strings.CutPrefix(name, p); ok {
			name = rest
			break
		}
	}
	if !hexID.MatchString(name) {
		return "", false
	}
	return strings.ToLower(name), false
}

// NormalizeContainerID strips the runtime scheme of a container ID as the pod
// status gives it ("containerd://<id>", "cri-o://<id>", "docker://<id>").
func NormalizeContainerID(id string) string {
	if _, rest, ok := strings.Cut(id, "://"); ok {
		id = rest
	}
	return strings.ToLower(strings.TrimSpace(id))
}
