package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// imageSpec is one image made of a single static binary: a Go package of
// this module built here, or a binary built beforehand by a hack/ script.
type imageSpec struct {
	key      string // short name
	pkg      string // Go package to build
	prebuilt func() (path, hint string, err error)
	repo     string // image repository (tags: "dev" and a content hash)
	tag      string // fixed tag (pause)
	user     string
	optional bool // skip with a message if it does not compile
}

var images = []imageSpec{
	{key: "pause", pkg: "./test/e2e/images/pause", repo: "registry.k8s.io/pause", tag: "3.10", user: "65535"},
	{key: "manager", pkg: "./cmd/manager", repo: "docker.io/temblor/manager", user: "65532"},
	{key: "agent", pkg: "./cmd/agent", repo: "docker.io/temblor/agent", optional: true},
	{key: "app", pkg: "./test/e2e/images/app", repo: "docker.io/temblor/e2e-app", user: "65532"},
	// Only the e2e suite's Prometheus abort specs use it; skipped (and those
	// specs skip, or fail with CI=true) until hack/build-prometheus.sh built
	// it, so that `make demo` never pays for that build.
	{key: "prometheus", prebuilt: prometheusBinary, repo: "docker.io/temblor/e2e-prometheus", user: "65534"},
}

// prometheusBinary is where hack/build-prometheus.sh caches the Prometheus
// server of the version hack/tools/prometheus/go.mod pins.
func prometheusBinary() (path, hint string, err error) {
	root, err := repoRoot()
	if err != nil {
		return "", "", err
	}
	const mod = "github.com/prometheus/prometheus"
	b, err := os.ReadFile(filepath.Join(root, "hack", "tools", "prometheus", "go.mod"))
	if err != nil {
		return "", "", err
	}
	version := ""
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "require" && f[1] == mod {
			version = f[2]
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("hack/tools/prometheus/go.mod: no `require %s` line", mod)
	}
	cache := os.Getenv("TEMBLOR_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", err
		}
		cache = filepath.Join(home, ".cache", "temblor")
	}
	return filepath.Join(cache, "prometheus", version, "bin", "prometheus"),
		"hack/build-prometheus.sh builds it in about 3 minutes", nil
}

// binary builds im's Go package, or finds its prebuilt binary, and returns
// its path; skip says why an optional or prebuilt image is left out.
func (im imageSpec) binary(root string) (path, skip string, err error) {
	if im.prebuilt != nil {
		path, hint, err := im.prebuilt()
		if err != nil {
			return "", "", err
		}
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Sprintf("%s is not built (only the e2e suite needs it; %s)", path, hint), nil
		}
		return path, "", nil
	}
	path = state.p("images", im.key, filepath.Base(im.key))
	if err := goBuild(root, im.pkg, path); err != nil {
		if im.optional {
			return "", fmt.Sprintf("%s does not build yet:\n%v", im.pkg, err), nil
		}
		return "", "", err
	}
	return path, "", nil
}

// builtImages records, per image key, the references imported (written to
// images/tags.json for deploy and the e2e suite).
type builtImages map[string][]string

func loadImages() error {
	if _, ok := alive("containerd"); !ok {
		return fmt.Errorf("containerd is not running: run `go run ./hack/cluster up` first")
	}
	return ensureImages(false)
}

// ensureImages builds and imports the images (only pause when pauseOnly).
func ensureImages(pauseOnly bool) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	have, _ := output("ctr", "--address", state.ctrSock(), "-n", ctrNamespace, "images", "ls", "-q")
	haveSet := setOf(strings.Fields(have))
	built := builtImages{}
	if b, err := os.ReadFile(state.p("images", "tags.json")); err == nil {
		json.Unmarshal(b, &built)
	}
	for _, im := range images {
		if pauseOnly && im.key != "pause" {
			continue
		}
		if pauseOnly && haveSet[im.repo+":"+im.tag] {
			logf("%s:%s already imported", im.repo, im.tag)
			continue
		}
		t := time.Now()
		binPath, skip, err := im.binary(root)
		if err != nil {
			return fmt.Errorf("image %s: %w", im.key, err)
		}
		if skip != "" {
			logf("SKIP image %s: %s", im.key, skip)
			continue
		}
		bin, err := os.ReadFile(binPath)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(bin)
		tags := []string{im.repo + ":" + im.tag}
		if im.tag == "" {
			tags = []string{im.repo + ":dev", im.repo + ":" + hex.EncodeToString(sum[:6])}
		}
		if haveSet[tags[len(tags)-1]] && im.tag == "" {
			logf("image %s unchanged (%s)", im.key, tags[len(tags)-1])
			built[im.key] = tags
			continue
		}
		tarPath := state.p("images", im.key+".tar")
		if err := writeImage(tarPath, "/"+im.key, bin, im.user, tags); err != nil {
			return fmt.Errorf("image %s: %v", im.key, err)
		}
		if err := run("ctr", "--address", state.ctrSock(), "-n", ctrNamespace, "images", "import", tarPath); err != nil {
			return err
		}
		os.Remove(tarPath)
		built[im.key] = tags
		logf("imported %s (%d KiB) in %s", strings.Join(tags, ", "), len(bin)/1024, time.Since(t).Round(time.Millisecond))
	}
	b, _ := json.MarshalIndent(built, "", "  ")
	return os.WriteFile(state.p("images", "tags.json"), b, 0o644)
}

func goBuild(root, pkg, out string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-p=2", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	o, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, o)
	}
	return nil
}

// writeImage writes a docker-archive tarball of a one-layer image holding
// the binary at path, tagged with every ref in tags.
func writeImage(tarPath, path string, bin []byte, user string, tags []string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(0, 0)
	for _, d := range []string{"tmp/", "etc/"} {
		mode := int64(0o755)
		if d == "tmp/" {
			mode = 0o1777
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: mode, ModTime: mtime})
	}
	for _, f := range []struct {
		name string
		body []byte
		mode int64
	}{
		{"etc/passwd", []byte("root:x:0:0:root:/:/nonexistent\nnonroot:x:65532:65532:nonroot:/:/nonexistent\nnobody:x:65535:65535:nobody:/:/nonexistent\n"), 0o644},
		{"etc/group", []byte("root:x:0:\nnonroot:x:65532:\nnobody:x:65535:\n"), 0o644},
		{strings.TrimPrefix(path, "/"), bin, 0o755},
	} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.body)), ModTime: mtime}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layerBytes := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: mtime}
	cf.Config.Entrypoint = []string{path}
	cf.Config.User = user
	cf.Config.Env = []string{"PATH=/"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		ref, err := name.NewTag(t)
		if err != nil {
			return err
		}
		refs[ref] = img
	}
	return tarball.MultiRefWriteToFile(tarPath, refs)
}
