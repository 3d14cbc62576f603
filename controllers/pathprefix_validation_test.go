package controllers_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

var _ = Describe("pathPrefix length is counted in bytes, as the agent counts it", func() {
	It("accepts 255 bytes and refuses a shorter path in characters that is longer in bytes", func(ctx SpecContext) {
		ns := newNamespace(ctx)
		spec := func(path string) string {
			return sel + dur + "syscall: {syscalls: [openat], errno: EIO, pathPrefix: '" + path + "'}"
		}
		Expect(k8sClient.Create(ctx, faultFromSpec(ns, spec("/"+strings.Repeat("a", 254))))).To(Succeed())
		Expect(k8sClient.Create(ctx, faultFromSpec(ns, spec("/"+strings.Repeat("é", 127))))).To(Succeed(), "255 bytes")

		multiByte := "/" + strings.Repeat("é", 128) // 129 characters, 257 bytes
		err := k8sClient.Create(ctx, faultFromSpec(ns, spec(multiByte)))
		Expect(err).To(HaveOccurred())
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.syscall.pathPrefix"))
		Expect(err.Error()).To(ContainSubstring("pathPrefix must be at most 255 bytes"))
	})
})

var _ = Describe("pathPrefix is accepted exactly on the syscalls a backend can filter by path", func() {
	spec := func(syscalls, errno string) string {
		return sel + dur + "syscall: {syscalls: [" + syscalls + "], errno: " + errno + ", pathPrefix: /var/lib/index/}"
	}
	DescribeTable("accepts",
		func(ctx SpecContext, syscalls, errno string) {
			Expect(k8sClient.Create(ctx, faultFromSpec(newNamespace(ctx), spec(syscalls, errno)))).To(Succeed())
		},
		Entry("mkdir (path argument)", "mkdir", "EROFS"),
		Entry("unlink and unlinkat", "unlink, unlinkat", "EROFS"),
		Entry("rename family", "rename, renameat, renameat2", "EXDEV"),
		Entry("execve", "execve", "EACCES"),
		Entry("read family (open file's path)", "read, pread64, readv", "EIO"),
		Entry("write family, fsync, fdatasync, ftruncate", "write, pwrite64, writev, fsync, fdatasync, ftruncate", "ENOSPC"),
	)
	DescribeTable("refuses, naming the syscalls it applies to",
		func(ctx SpecContext, syscalls, errno string) {
			err := k8sClient.Create(ctx, faultFromSpec(newNamespace(ctx), spec(syscalls, errno)))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want 422 Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring("pathPrefix applies only to syscalls whose path a backend can compare"))
			Expect(err.Error()).To(ContainSubstring("mkdir"))
			Expect(err.Error()).To(ContainSubstring("fsync"))
		},
		Entry("connect", "connect", "ECONNREFUSED"),
		Entry("mkdir with connect (every syscall must take a path)", "mkdir, connect", "EIO"),
		Entry("mmap (no backend sees its file's path)", "mmap", "ENOMEM"),
	)
})
