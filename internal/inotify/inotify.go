// Package inotify decodes the events read from an inotify descriptor, for
// the watchers of cgroup directories (injector/syscall's subtree follower
// and the agent's pod watch).
package inotify

import (
	"bytes"
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// BufSize is a read buffer that holds at least 64 events with the longest
// names.
const BufSize = 64 * (unix.SizeofInotifyEvent + unix.NAME_MAX + 1)

// Event is one inotify event.
type Event struct {
	// Wd is the watch descriptor the event is about.
	Wd int32
	// Mask holds the IN_* bits.
	Mask uint32
	// Name is the entry's name inside the watched directory ("" for the
	// directory itself), without its NUL padding.
	Name string
}

// Decode parses one read's worth of events. A record cut short (which the
// kernel never returns, since it reads whole events or fails with EINVAL)
// ends the decoding rather than read past buf.
func Decode(buf []byte) []Event {
	var out []Event
	for off := 0; off+unix.SizeofInotifyEvent <= len(buf); {
		// struct inotify_event: wd, mask, cookie, len, name[len].
		hdr := buf[off : off+unix.SizeofInotifyEvent]
		nameLen := int(binary.NativeEndian.Uint32(hdr[12:16]))
		start := off + unix.SizeofInotifyEvent
		if nameLen > len(buf)-start {
			break
		}
		name := buf[start : start+nameLen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, Event{
			Wd:   int32(binary.NativeEndian.Uint32(hdr[0:4])),
			Mask: binary.NativeEndian.Uint32(hdr[4:8]),
			Name: string(name),
		})
		off = start + nameLen
	}
	return out
}
