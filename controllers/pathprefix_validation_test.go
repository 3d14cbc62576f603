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
