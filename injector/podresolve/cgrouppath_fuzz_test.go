package podresolve

import (
	"regexp"
	"strings"
	"testing"
)

// validPodUID is what a pod UID may look like: an RFC 4122 UUID as the API
// server assigns it, or the 32 hex digits (an MD5 sum) that the kubelet gives
// static pods and their mirror pods. Both come back lowercase.
var validPodUID = regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$`)

// validContainerID is a runtime's container ID as ParseCgroupPath returns it.
var validContainerID = regexp.MustCompile(`^[0-9a-f]{12,128}$`)

// cgroupPathSeeds are cgroup paths as /proc/PID/cgroup shows them under the
// systemd and cgroupfs drivers, for containerd, CRI-O and Docker, from cgroup
// namespaces, and paths outside any pod.
func cgroupPathSeeds() []string {
	seeds := []string{
		"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(fixUID) + ".slice/cri-containerd-" + appID + ".scope",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(fixUID) + ".slice/crio-" + appID + ".scope",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(fixUID) + ".slice/crio-conmon-" + appID + ".scope",
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(fixUID) + ".slice/crio-" + appID + ".scope/container",
		"/kubepods.slice/kubepods-pod" + us(fixUID) + ".slice/docker-" + appID + ".scope",
		"/kubepods.slice/kubepods-pod" + us(fixUID) + ".slice",
		"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod" + us(fixUID) + ".slice/cri-containerd-" + appID + ".scope",
		"/kubepods/burstable/pod" + fixUID + "/" + appID,
		"/kubepods/besteffort/pod" + fixUID + "/" + pauseID,
		"/kubepods/pod" + fixUID + "/" + appID,
		"/kubepods/pod" + fixUID,
		"/../../kubepods/besteffort/pod" + fixUID + "/" + appID,
		"/../kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(fixUID) + ".slice/cri-containerd-" + appID + ".scope",
		"/machine.slice/libpod-" + appID + ".scope",
		"/kubepods/burstable/pod0123456789abcdef0123456789abcdef/" + appID, // static pod
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0123456789abcdef0123456789abcdef.slice",
		"/system.slice/pod" + fixUID,
		"/system.slice/containerd.service",
		"/user.slice/user-0.slice/session-1.scope",
		"/init.scope",
		"/",
		"",
	}
	return seeds
}

// FuzzParseCgroupPath checks what ParseCgroupPath promises for any path a
// container can put in /proc/PID/cgroup: a UID it finds is a valid pod UID
// that occurs in the path, in the pod's own directory name; a container ID
// is valid hex taken from the directory right below the pod's, and none is
// returned for a path that ends at the pod.
func FuzzParseCgroupPath(f *testing.F) {
	for _, s := range cgroupPathSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		ref, ok := ParseCgroupPath(path)
		if !ok {
			if ref != (CgroupRef{}) {
				t.Fatalf("not ok but got %+v", ref)
			}
			return
		}
		checkRef(t, path, ref)
	})
}

// checkRef asserts the invariants of a reference found in path.
func checkRef(t *testing.T, path string, ref CgroupRef) {
	t.Helper()
	if !validPodUID.MatchString(ref.PodUID) {
		t.Fatalf("%q: pod UID %q is not a valid pod UID", path, ref.PodUID)
	}
	clean := "/" + strings.Trim(path, "/")
	if !strings.HasPrefix(clean+"/", ref.PodPath+"/") {
		t.Fatalf("%q: pod path %q is not a prefix of the path", path, ref.PodPath)
	}
	podDir := strings.ToLower(ref.PodPath[strings.LastIndexByte(ref.PodPath, '/')+1:])
	if !strings.Contains(podDir, ref.PodUID) && !strings.Contains(podDir, strings.ReplaceAll(ref.PodUID, "-", "_")) {
		t.Fatalf("%q: pod UID %q does not occur in the pod's directory %q", path, ref.PodUID, podDir)
	}
	if !strings.Contains(strings.ToLower(ref.PodPath), "kubepods") {
		t.Fatalf("%q: pod path %q is not below kubepods", path, ref.PodPath)
	}
	if ref.ContainerID == "" {
		if ref.ContainerPath != "" {
			t.Fatalf("%q: container path %q without a container ID", path, ref.ContainerPath)
		}
		return
	}
	if ref.Conmon {
		t.Fatalf("%q: conmon with container ID %q", path, ref.ContainerID)
	}
	if !validContainerID.MatchString(ref.ContainerID) {
		t.Fatalf("%q: container ID %q is not lowercase hex of 12 to 128 digits", path, ref.ContainerID)
	}
	rest, found := strings.CutPrefix(ref.ContainerPath, ref.PodPath+"/")
	if !found || rest == "" || strings.Contains(rest, "/") {
		t.Fatalf("%q: container path %q is not one directory below the pod's %q", path, ref.ContainerPath, ref.PodPath)
	}
	if !strings.HasPrefix(clean+"/", ref.ContainerPath+"/") {
		t.Fatalf("%q: container path %q is not a prefix of the path", path, ref.ContainerPath)
	}
	if !strings.Contains(strings.ToLower(rest), ref.ContainerID) {
		t.Fatalf("%q: container ID %q does not occur in its directory %q", path, ref.ContainerID, rest)
	}
}

// FuzzCgroupPathRoundTrip builds the cgroup path of a known pod and
// container under each driver and runtime, with fuzzed UID and ID bytes and a
// fuzzed tail below the container, and checks that they are read back.
func FuzzCgroupPathRoundTrip(f *testing.F) {
	f.Add([]byte{0x3c, 0x7a, 0x1e, 0x2f, 0x8d, 0x4b, 0x4c, 0x6a, 0x9e, 0x0f, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e, 0x6f}, uint8(0), false, []byte{0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb}, "")
	f.Add([]byte("0123456789abcdef"), uint8(5), true, []byte("container-id-bytes-32-long......"), "container")
	f.Add([]byte{}, uint8(9), false, []byte{}, "")
	f.Fuzz(func(t *testing.T, uidBytes []byte, layoutN uint8, static bool, cidBytes []byte, tail string) {
		var u [16]byte
		copy(u[:], uidBytes)
		const hx = "0123456789abcdef"
		var b strings.Builder
		for i, c := range u {
			if !static && (i == 4 || i == 6 || i == 8 || i == 10) {
				b.WriteByte('-')
			}
			b.WriteByte(hx[c>>4])
			b.WriteByte(hx[c&15])
		}
		uid := b.String()
		cid := ""
		for _, c := range cidBytes {
			cid += string([]byte{hx[c>>4], hx[c&15]})
		}
		if len(cid) > 128 {
			cid = cid[:128]
		}
		tail = strings.ReplaceAll(tail, "\x00", "")
		type form struct{ pod, ctr string }
		forms := []form{
			{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + us(uid) + ".slice", "cri-containerd-" + cid + ".scope"},
			{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + us(uid) + ".slice", "crio-" + cid + ".scope"},
			{"/kubepods.slice/kubepods-pod" + us(uid) + ".slice", "docker-" + cid + ".scope"},
			{"/kubepods/burstable/pod" + uid, cid},
			{"/kubepods/pod" + uid, cid},
			{"/../../kubepods/besteffort/pod" + uid, cid},
			{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-pod" + us(uid) + ".slice", "cri-containerd-" + cid + ".scope"},
		}
		fm := forms[int(layoutN)%len(forms)]
		path := fm.pod
		wantCID := ""
		if len(cid) >= 12 {
			path += "/" + fm.ctr
			wantCID = cid
			if tail != "" {
				path += "/" + tail
			}
		}
		ref, ok := ParseCgroupPath(path)
		if !ok {
			t.Fatalf("%q: no pod found", path)
		}
		if ref.PodUID != uid || ref.ContainerID != wantCID {
			t.Fatalf("%q: got pod %q container %q, want %q %q", path, ref.PodUID, ref.ContainerID, uid, wantCID)
		}
		checkRef(t, path, ref)
	})
}

// FuzzParseProcCgroup feeds whole /proc/PID/cgroup files (v1, v2 and hybrid
// lines) to parseProcCgroup: a pod it finds is the one some line's path
// names, the cgroup v2 line wins over v1 lines, and v2path is the path of a
// "0::" line.
func FuzzParseProcCgroup(f *testing.F) {
	for _, l := range layouts {
		f.Add([]byte(l.lines(fixUID, appID)))
		f.Add([]byte(l.lines(otherUID, pauseID)))
	}
	f.Add([]byte("0::/init.scope\n"))
	f.Add([]byte("12:memory:/kubepods/pod" + fixUID + "/" + appID + "\n0::/kubepods.slice/kubepods-pod" + us(otherUID) + ".slice\n"))
	f.Add([]byte("0::/kubepods/pod" + fixUID + "\r\n1:name=systemd:/\n"))
	f.Add([]byte("garbage\n::\n0:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ref, v2path, ok := parseProcCgroup(data)
		var paths, v2paths []string
		v2pod := false
		for _, line := range strings.Split(string(data), "\n") {
			line = strings.TrimSuffix(line, "\r")
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 {
				continue
			}
			paths = append(paths, parts[2])
			if parts[0] == "0" && parts[1] == "" {
				v2paths = append(v2paths, parts[2])
				if _, found := ParseCgroupPath(parts[2]); found {
					v2pod = true
				}
			}
		}
		if v2path != "" && !contains(v2paths, v2path) {
			t.Fatalf("v2path %q is not the path of a 0:: line in %q", v2path, data)
		}
		if !ok {
			if ref != (CgroupRef{}) {
				t.Fatalf("not ok but got %+v", ref)
			}
			for _, p := range paths {
				if _, found := ParseCgroupPath(p); found {
					t.Fatalf("line path %q names a pod but none was found in %q", p, data)
				}
			}
			return
		}
		from := paths
		if v2pod {
			from = v2paths
		}
		for _, p := range from {
			if r, found := ParseCgroupPath(p); found && r == ref {
				checkRef(t, p, ref)
				return
			}
		}
		t.Fatalf("%+v is not what any line of %q names (v2 line names a pod: %v)", ref, data, v2pod)
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
