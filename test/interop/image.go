package interop

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables the harness reads.
const (
	// EnvCache overrides the cache directory (see CacheDir).
	EnvCache = "GATEHOUSE_INTEROP_CACHE"
	// EnvAccel forces the accelerator: "tcg" skips the KVM probe, "kvm"
	// fails when KVM does not boot the image.
	EnvAccel = "GATEHOUSE_INTEROP_ACCEL"
)

// image is the VM's boot image in the cache, and how QEMU runs it here.
type image struct {
	dir       string // <cache>/image-<key>
	kernel    string // vmlinux, booted through its PVH entry point
	initramfs string // initramfs.cpio
	accel     string // "kvm" or "tcg"
	cpu       string // QEMU -cpu model
}

var (
	imageOnce sync.Once
	imageVal  *image
	imageErr  error
)

// Require makes sure the harness can run here, building the VM image into
// the cache the first time a test process needs it (about 22 s cold,
// 0.3 s warm). Up calls it.
//
// Every test that boots a VM is long, so under -short Require skips. It
// also skips when the process is not root. Either skip prints a loud
// "*** SKIP" line on stderr as well, so a plain "go test ./..." shows it.
// As root, anything else that stops the harness (no /dev/net/tun, no
// QEMU, the image cannot be built) fails the test: CI runs as root and
// must run every interop test.
func Require(t testing.TB) {
	t.Helper()
	if testing.Short() {
		skipLoudly(t, "-short: boots the Linux PPTP client in QEMU VMs (5-10 s each under TCG)")
	}
	if os.Geteuid() != 0 {
		skipLoudly(t, "needs root for network namespaces, tap devices and QEMU; CI runs it as root")
	}
	if _, err := loadImage(); err != nil {
		t.Fatalf("interop harness unavailable: %v", err)
	}
}

// Image builds (or finds) the VM image and returns its directory and the
// accelerator VMs will use ("kvm" or "tcg"): Require without a test.
func Image() (dir, accel string, err error) {
	img, err := loadImage()
	if err != nil {
		return "", "", err
	}
	return img.dir, img.accel, nil
}

func skipLoudly(t testing.TB, msg string) {
	t.Helper()
	fmt.Fprintf(os.Stderr, "\n*** SKIP %s: %s\n\n", t.Name(), msg)
	t.Skip("SKIP: " + msg)
}

// CacheDir is where the VM image is built and kept: $GATEHOUSE_INTEROP_CACHE,
// else gatehouse-interop under the user's cache directory
// ($XDG_CACHE_HOME or ~/.cache), so that every clone on a machine shares
// one download; without a home directory, var/interop-cache in the
// repository (git-ignored).
func CacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "gatehouse-interop")
	}
	return filepath.Join(sourceDir(), "..", "..", "var", "interop-cache")
}

// sourceDir is test/interop in the source tree: the image scripts live
// there. Tests always run with their sources present.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("interop: cannot locate the package's source directory")
	}
	return filepath.Dir(file)
}

func loadImage() (*image, error) {
	imageOnce.Do(func() { imageVal, imageErr = buildImage() })
	return imageVal, imageErr
}

func buildImage() (*image, error) {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		return nil, errors.New("no /dev/net/tun: the host kernel needs TUN/TAP support (modprobe tun)")
	}
	for _, tool := range []struct{ cmd, pkg string }{{qemuBinary, "qemu-system-x86"}, {"ip", "iproute2"}} {
		if _, err := exec.LookPath(tool.cmd); err != nil {
			return nil, fmt.Errorf("%s not found: run test/install-deps as root (apt-get install %s)", tool.cmd, tool.pkg)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("bash", filepath.Join(sourceDir(), "image", "build"), CacheDir())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("building the VM image (test/interop/image/build): %v\n%s", err, stderr.String())
	}
	dir := strings.TrimSpace(stdout.String())
	img := &image{
		dir:       dir,
		kernel:    filepath.Join(dir, "vmlinux"),
		initramfs: filepath.Join(dir, "initramfs.cpio"),
	}
	if err := img.chooseAccel(); err != nil {
		return nil, err
	}
	return img, nil
}

// KVM CPU models to try, best first. Nested KVM often cannot set every MSR
// of "host" (QEMU aborts: "failed to set MSR 0x10a").
var kvmCPUs = []string{"host", "host,-arch-capabilities"}

// chooseAccel decides between KVM and TCG by booting the image in probe
// mode under KVM: /dev/kvm can exist and still hang the guest (it does in
// nested setups). The verdict is kept next to the image until the host
// kernel or QEMU changes. A working KVM boots the probe in about a second;
// the probe gives each CPU model 8 s.
func (img *image) chooseAccel() error {
	img.accel, img.cpu = "tcg", "max"
	force := os.Getenv(EnvAccel)
	if force == "tcg" {
		return nil
	}
	key := hostKey()
	file := filepath.Join(img.dir, "accel")
	read := func() bool {
		b, err := os.ReadFile(file)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if err != nil || len(lines) != 2 || lines[0] != key {
			return false
		}
		f := strings.Fields(lines[1])
		if len(f) != 2 {
			return false
		}
		img.accel, img.cpu = f[0], f[1]
		return true
	}
	if !read() {
		unlock, err := lockCache()
		if err != nil {
			return err
		}
		defer unlock()
		if !read() { // another process may have probed meanwhile
			img.accel, img.cpu = "tcg", "max"
			if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
				f.Close()
				for _, cpu := range kvmCPUs {
					if img.bootsUnder("kvm", cpu, 8*time.Second) {
						img.accel, img.cpu = "kvm", cpu
						break
					}
				}
			}
			content := key + "\n" + img.accel + " " + img.cpu + "\n"
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				return fmt.Errorf("recording the accelerator: %w", err)
			}
		}
	}
	if force == "kvm" && img.accel != "kvm" {
		return fmt.Errorf("%s=kvm, but the VM image does not boot under KVM here", EnvAccel)
	}
	return nil
}

// bootsUnder reports whether the image reaches its init under accel/cpu.
func (img *image) bootsUnder(accel, cpu string, limit time.Duration) bool {
	m, err := startVM(img, vmSpec{name: "probe", accel: accel, cpu: cpu, files: map[string]string{"mode": "probe"}})
	if err != nil {
		return false
	}
	defer m.stop()
	select {
	case <-m.booted:
		return true
	case <-m.exited:
		return false
	case <-time.After(limit):
		return false
	}
}

// hostKey names what the accelerator verdict depends on.
func hostKey() string {
	var u syscall.Utsname
	_ = syscall.Uname(&u)
	release := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		release = append(release, byte(c))
	}
	out, _ := exec.Command(qemuBinary, "--version").Output()
	version, _, _ := strings.Cut(string(out), "\n")
	return string(release) + " " + version
}

// lockCache takes the cache's lock, the same one image/build takes.
func lockCache() (unlock func(), err error) {
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(CacheDir(), "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
