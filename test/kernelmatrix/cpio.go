package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// cpioWriter writes a cpio "newc" archive, the format the kernel unpacks
// into the initramfs. Parent directories are created on demand.
type cpioWriter struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

func newCPIO(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, dirs: map[string]bool{"": true, ".": true, "/": true}}
}

func (c *cpioWriter) header(name string, mode uint32, size int64) {
	if c.err != nil {
		return
	}
	name = strings.TrimPrefix(name, "/")
	c.ino++
	// magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	if _, c.err = io.WriteString(c.w, hdr+name+"\x00"); c.err != nil {
		return
	}
	c.pad(len(hdr) + len(name) + 1)
}

func (c *cpioWriter) pad(n int) {
	if c.err != nil {
		return
	}
	if r := n % 4; r != 0 {
		_, c.err = c.w.Write(make([]byte, 4-r))
	}
}

// mkdirAll adds dir and its missing parents.
func (c *cpioWriter) mkdirAll(dir string) {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if c.dirs[dir] {
		return
	}
	c.mkdirAll(path.Dir(dir))
	c.dirs[dir] = true
	c.header(dir, 0o040755, 0)
}

// file adds name with the given permission bits, read from r (size bytes).
func (c *cpioWriter) file(name string, perm uint32, size int64, r io.Reader) {
	c.mkdirAll(path.Dir(name))
	c.header(name, 0o100000|perm, size)
	if c.err != nil {
		return
	}
	var n int64
	n, c.err = io.Copy(c.w, r)
	if c.err == nil && n != size {
		c.err = fmt.Errorf("cpio %s: wrote %d of %d bytes", name, n, size)
	}
	c.pad(int(size))
}

// hostFile adds the host file src as name, keeping its permission bits.
func (c *cpioWriter) hostFile(name, src string) {
	if c.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		c.err = err
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		c.err = err
		return
	}
	c.file(name, uint32(st.Mode().Perm()), st.Size(), bufio.NewReaderSize(f, 1<<20))
}

func (c *cpioWriter) close() error {
	c.header("TRAILER!!!", 0, 0)
	return c.err
}

// writeInitramfs writes an archive at dst holding files (archive path →
// host path), gzip-compressed when compress is set. Several such archives,
// concatenated, form one initramfs (the kernel unpacks them in turn).
func writeInitramfs(dst string, files map[string]string, compress bool) error {
	f, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if compress {
		zw, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		w = zw
	}
	cw := newCPIO(w)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		cw.hostFile(n, files[n])
	}
	if err := cw.close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// concatFiles writes the concatenation of srcs to dst.
func concatFiles(dst string, srcs ...string) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	for _, s := range srcs {
		in, err := os.Open(s)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return err
		}
	}
	return out.Close()
}
