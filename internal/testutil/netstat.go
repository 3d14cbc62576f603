package testutil

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/injector/netns"
)

// NetStats reads /proc/net/snmp and /proc/net/netstat of the namespace at
// nsPath, keyed like nstat: "IpExtInTruncatedPkts", "UdpInCsumErrors".
func NetStats(tb testing.TB, nsPath string) map[string]int64 {
	tb.Helper()
	stats := map[string]int64{}
	err := netns.Do(nsPath, func() error {
		// thread-self: /proc/self/net would show the thread group
		// leader's namespace, not this thread's.
		for _, f := range []string{"/proc/thread-self/net/snmp", "/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp6"} {
			if err := readStats(f, stats); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("read net stats: %v", err)
	}
	return stats
}

func readStats(path string, into map[string]int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	var header []string
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) == 2 && !strings.HasSuffix(fields[0], ":") { // snmp6: "Name value"
			v, _ := strconv.ParseInt(fields[1], 10, 64)
			into[fields[0]] = v
			continue
		}
		if len(fields) < 2 {
			continue
		}
		if header == nil || header[0] != fields[0] {
			header = fields
			continue
		}
		prefix := strings.TrimSuffix(fields[0], ":")
		for i := 1; i < len(fields) && i < len(header); i++ {
			v, _ := strconv.ParseInt(fields[i], 10, 64)
			into[prefix+header[i]] = v
		}
		header = nil
	}
	return s.Err()
}

// SetTxChecksum turns transmit checksum offload of ifname in the namespace
// on or off (ETHTOOL_STXCSUM). With it off, the sender computes full L4
// checksums in software and the receiver verifies them, as on a real wire;
// with it on, veth passes CHECKSUM_PARTIAL packets that nobody verifies.
func SetTxChecksum(tb testing.TB, nsPath, ifname string, on bool) {
	tb.Helper()
	const ethtoolSTXCSUM = 0x17
	err := netns.Do(nsPath, func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		val := &struct{ cmd, data uint32 }{cmd: ethtoolSTXCSUM}
		if on {
			val.data = 1
		}
		ifr := &struct {
			name [unix.IFNAMSIZ]byte
			data unsafe.Pointer
			_    [16]byte
		}{data: unsafe.Pointer(val)}
		copy(ifr.name[:], ifname)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(ifr)))
		runtime.KeepAlive(val)
		if errno != 0 {
			return errno
		}
		return nil
	})
	if err != nil {
		tb.Fatalf("set tx checksum offload of %s: %v", ifname, err)
	}
}
