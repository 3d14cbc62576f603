package bpf

import (
	"encoding/binary"
	"net/netip"
)

// Offsets in the frames built by buildFrame.
const (
	ethLen  = 14
	ipv4Len = 20
	ipv6Len = 40
)

// pkt describes one crafted Ethernet frame.
type pkt struct {
	src, dst     netip.Addr
	proto        uint8 // 6, 17, 1 or 58
	sport, dport uint16
	payload      []byte
}

func (p pkt) v6() bool { return p.src.Is6() }

func (p pkt) l3Off() int { return ethLen }

func (p pkt) l4Off() int {
	if p.v6() {
		return ethLen + ipv6Len
	}
	return ethLen + ipv4Len
}

func (p pkt) l4HdrLen() int {
	if p.proto == 6 {
		return 20
	}
	return 8
}

func (p pkt) payloadOff() int { return p.l4Off() + p.l4HdrLen() }

// buildFrame returns the frame with every checksum valid.
func buildFrame(p pkt) []byte {
	l4len := p.l4HdrLen() + len(p.payload)
	b := make([]byte, p.l4Off()+l4len)
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 2})
	copy(b[6:12], []byte{0x02, 0, 0, 0, 0, 1})
	ip := b[ethLen:]
	if p.v6() {
		binary.BigEndian.PutUint16(b[12:], 0x86dd)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(l4len))
		ip[6] = p.proto
		ip[7] = 64
		s, d := p.src.As16(), p.dst.As16()
		copy(ip[8:24], s[:])
		copy(ip[24:40], d[:])
	} else {
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(ipv4Len+l4len))
		binary.BigEndian.PutUint16(ip[4:], 0x1234)
		ip[8] = 64
		ip[9] = p.proto
		s, d := p.src.As4(), p.dst.As4()
		copy(ip[12:16], s[:])
		copy(ip[16:20], d[:])
		binary.BigEndian.PutUint16(ip[10:], ^csumFold(csumAdd(0, ip[:ipv4Len])))
	}
	l4 := b[p.l4Off():]
	switch p.proto {
	case 6:
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint32(l4[4:], 1000)
		binary.BigEndian.PutUint32(l4[8:], 2000)
		l4[12] = 5 << 4
		l4[13] = 0x18 // PSH|ACK
		binary.BigEndian.PutUint16(l4[14:], 512)
	case 17:
		binary.BigEndian.PutUint16(l4[0:], p.sport)
		binary.BigEndian.PutUint16(l4[2:], p.dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(l4len))
	case 1:
		l4[0] = 8 // echo request
	case 58:
		l4[0] = 128 // echo request
	}
	copy(l4[p.l4HdrLen():], p.payload)
	off := csumOffset(p.proto)
	binary.BigEndian.PutUint16(l4[off:], 0)
	binary.BigEndian.PutUint16(l4[off:], ^csumFold(l4Sum(b, l4len)))
	if p.proto == 17 && binary.BigEndian.Uint16(l4[off:]) == 0 {
		binary.BigEndian.PutUint16(l4[off:], 0xffff)
	}
	return b
}

func csumOffset(proto uint8) int {
	switch proto {
	case 6:
		return 16
	case 17:
		return 6
	default:
		return 2
	}
}

// csumAdd adds b as big-endian 16-bit words (an odd tail padded with zero).
func csumAdd(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func csumFold(sum uint32) uint16 {
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// l4Sum sums the first l4len bytes of the L4 segment of frame with the
// pseudo-header of that length (none for ICMPv4).
func l4Sum(frame []byte, l4len int) uint32 {
	var sum uint32
	var l4off int
	var proto uint8
	if binary.BigEndian.Uint16(frame[12:]) == 0x86dd {
		l4off = ethLen + ipv6Len
		proto = frame[ethLen+6]
		sum = csumAdd(sum, frame[ethLen+8:ethLen+40])
		sum += uint32(l4len) + uint32(proto)
	} else {
		l4off = ethLen + int(frame[ethLen]&0xf)*4
		proto = frame[ethLen+9]
		if proto != 1 {
			sum = csumAdd(sum, frame[ethLen+12:ethLen+20])
			sum += uint32(l4len) + uint32(proto)
		}
	}
	end := l4off + l4len
	if end > len(frame) {
		end = len(frame)
	}
	return csumAdd(sum, frame[l4off:end])
}

// ipv4HeaderOK verifies the IPv4 header checksum.
func ipv4HeaderOK(frame []byte) bool {
	ihl := int(frame[ethLen]&0xf) * 4
	return csumFold(csumAdd(0, frame[ethLen:ethLen+ihl])) == 0xffff
}

// l4OK verifies the L4 checksum the way a receiver does, over l4len bytes:
// the UDP length for UDP, the IP payload length otherwise.
func l4OK(frame []byte) bool {
	var l4off, iplen int
	if binary.BigEndian.Uint16(frame[12:]) == 0x86dd {
		l4off = ethLen + ipv6Len
		iplen = int(binary.BigEndian.Uint16(frame[ethLen+4:]))
	} else {
		l4off = ethLen + int(frame[ethLen]&0xf)*4
		iplen = int(binary.BigEndian.Uint16(frame[ethLen+2:])) - (l4off - ethLen)
	}
	proto := frame[ethLen+9]
	if binary.BigEndian.Uint16(frame[12:]) == 0x86dd {
		proto = frame[ethLen+6]
	}
	l4len := iplen
	if proto == 17 {
		l4len = int(binary.BigEndian.Uint16(frame[l4off+4:]))
	}
	return csumFold(l4Sum(frame, l4len)) == 0xffff
}
