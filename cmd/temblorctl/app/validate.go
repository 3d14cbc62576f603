package app

import (
	"context"
	"fmt"
	"os"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/local"
)

// validateCmd checks Fault manifests: strictly against the Go types, then
// with a server-side dry-run create, so that the cluster's CRD schema and
// CEL rules answer. It exits 1 if any manifest is invalid.
func validateCmd(ctx context.Context, a *app, args []string) int {
	fs := a.flagSet("validate")
	var files fileList
	fs.Var(&files, "f", "manifest to validate (repeatable; files may also follow as arguments)")
	pos, err := parse(fs, args)
	if err != nil {
		return 2
	}
	files = append(files, pos...)
	if len(files) == 0 {
		fmt.Fprintln(a.io.Stderr, "error: validate needs -f FILE")
		return 2
	}
	cl, err := a.kube.connect()
	if err != nil {
		return a.fail(err)
	}
	status := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(a.io.Stdout, "%s: INVALID: %v\n", file, err)
			status = 1
			continue
		}
		docs := local.SplitDocuments(data)
		if len(docs) == 0 {
			fmt.Fprintf(a.io.Stdout, "%s: INVALID: no manifest in the file\n", file)
			status = 1
		}
		for i, doc := range docs {
			where := file
			if len(docs) > 1 {
				where = fmt.Sprintf("%s (document %d)", file, i+1)
			}
			msg, ok := cl.validate(ctx, doc)
			if !ok {
				status = 1
				fmt.Fprintf(a.io.Stdout, "%s: INVALID: %s\n", where, msg)
				continue
			}
			fmt.Fprintf(a.io.Stdout, "%s: OK (%s)\n", where, msg)
		}
	}
	return status
}

// validate checks one manifest and returns a summary when it is valid, the
// reason when not.
func (cl *cluster) validate(ctx context.Context, doc []byte) (string, bool) {
	var typed chaosv1.Fault
	if err := yaml.UnmarshalStrict(doc, &typed); err != nil {
		return fmt.Sprintf("not a strict Fault manifest: %v", err), false
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(doc, &u.Object); err != nil {
		return fmt.Sprintf("parse YAML: %v", err), false
	}
	if u.GetKind() != "Fault" || u.GroupVersionKind().GroupVersion() != chaosv1.GroupVersion {
		return fmt.Sprintf("kind %q apiVersion %q: want Fault %s", u.GetKind(), u.GetAPIVersion(), chaosv1.GroupVersion), false
	}
	if err := cl.setNamespace(&typed); err != nil {
		return err.Error(), false
	}
	u.SetNamespace(typed.Namespace)
	err := cl.c.Create(ctx, u, client.DryRunAll)
	switch {
	case err == nil:
		// The dry run returned the object as it would be stored, with the
		// CRD's defaults applied.
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &typed)
		return fmt.Sprintf("fault/%s: %s", typed.Name, action(&typed)), true
	case apierrors.IsAlreadyExists(err):
		return fmt.Sprintf("fault/%s: %s; a Fault of that name already exists in %s", typed.Name, action(&typed), typed.Namespace), true
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return apiMessage(err), false
	}
	return fmt.Sprintf("dry run failed: %v", err), false
}

// apiMessage is the API server's own message for err.
func apiMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok && s.Status().Message != "" {
		return s.Status().Message
	}
	return err.Error()
}
