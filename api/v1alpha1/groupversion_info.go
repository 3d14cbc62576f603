// Package v1alpha1 contains the chaos.temblor.dev/v1alpha1 API: Fault, the
// user-facing experiment, and FaultInjection, the per-node work item that the
// manager writes and the node agent carries out.
//
// +kubebuilder:object:generate=true
// +groupName=chaos.temblor.dev
package v1alpha1

// The closed lists of syscall and errno names come from injector/syscall.
//go:generate go run ../../hack/gennames -o names_generated.go

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "chaos.temblor.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this API's types with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
