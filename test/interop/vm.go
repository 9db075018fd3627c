package interop

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	qemuBinary = "qemu-system-x86_64"
	vmMemoryMB = 256
	// Kernel command line: the console on the first serial port; only
	// kernel errors and warnings reach it (e.g. ppp_generic's "compression
	// required but down - pkt dropped"); no IPv6, so the tunnel carries
	// only what a test sends.
	kernelCmdline = "console=ttyS0 quiet loglevel=4 panic=-1 ipv6.disable=1 mitigations=off"
)

// qemuSafe matches what may not appear in a QEMU option value (a comma
// starts the next option).
var qemuSafe = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// vmSpec is what one VM boot needs.
type vmSpec struct {
	name  string            // for messages
	ns    string            // network namespace QEMU runs in; "" for none
	tap   string            // tap device in ns for the VM's eth0; "" for no NIC
	mac   string            // eth0's MAC address
	files map[string]string // the guest's /harness/<name> settings
	// accel and cpu override the image's choice (the KVM probe).
	accel, cpu string
}

// vm is one running QEMU. Its serial console is read line by line as it
// comes; "@gh" lines (see image/init) close the channels below.
type vm struct {
	cmd   *exec.Cmd
	work  string // temporary directory holding the per-run initrd
	start time.Time

	booted chan struct{} // "@gh booted"
	up     chan struct{} // "@gh up" (client) or "@gh ready" (pptpd)
	exited chan struct{} // QEMU has exited and the console is read to its end

	console struct {
		sync.Mutex
		lines  []string
		bootAt time.Time
	}
	exitErr error     // set before exited closes
	exitAt  time.Time // set before exited closes
}

// startVM boots the image with spec's settings appended to the initramfs.
func startVM(img *image, spec vmSpec) (*vm, error) {
	work, err := os.MkdirTemp("", "gatehouse-vm-")
	if err != nil {
		return nil, err
	}
	initrd := filepath.Join(work, "initrd")
	if err := writeInitrd(initrd, img.initramfs, newcArchive("harness", spec.files)); err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	accel, cpu := img.accel, img.cpu
	if spec.accel != "" {
		accel, cpu = spec.accel, spec.cpu
	}
	args := []string{
		"-name", "gatehouse-" + qemuSafe.ReplaceAllString(spec.name, "_"),
		"-accel", accel, "-machine", "pc", "-cpu", cpu, "-smp", "1", "-m", fmt.Sprint(vmMemoryMB),
		"-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
		"-serial", "stdio",
		"-kernel", img.kernel, "-initrd", initrd, "-append", kernelCmdline,
	}
	if spec.tap != "" {
		args = append(args,
			"-netdev", "tap,id=n0,ifname="+spec.tap+",script=no,downscript=no",
			"-device", "virtio-net-pci,netdev=n0,mac="+spec.mac+",romfile=")
	}
	var cmd *exec.Cmd
	if spec.ns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", spec.ns, qemuBinary}, args...)...)
	} else {
		cmd = exec.Command(qemuBinary, args...)
	}
	// QEMU dies with the test process, even when the test binary is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdin = nil
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(work)
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // QEMU's own complaints go into the log too
	m := &vm{
		cmd:    cmd,
		work:   work,
		booted: make(chan struct{}),
		up:     make(chan struct{}),
		exited: make(chan struct{}),
	}
	m.start = time.Now()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("starting %s: %w", qemuBinary, err)
	}
	go m.readConsole(stdout)
	return m, nil
}

// writeInitrd writes the cached initramfs with the settings archive
// appended, readable only by root: the settings hold the password.
func writeInitrd(path, base string, extra []byte) error {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	in, err := os.Open(base)
	if err != nil {
		out.Close()
		return err
	}
	defer in.Close()
	n, err := io.Copy(out, in)
	if err == nil && n%4 != 0 {
		// The kernel looks for the next archive at a multiple of 4.
		_, err = out.Write(make([]byte, 4-n%4))
	}
	if err == nil {
		_, err = out.Write(extra)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func (m *vm) readConsole(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var bootOnce, upOnce sync.Once
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		m.console.Lock()
		m.console.lines = append(m.console.lines, line)
		m.console.Unlock()
		switch {
		case strings.HasPrefix(line, "@gh booted"):
			bootOnce.Do(func() {
				m.console.Lock()
				m.console.bootAt = time.Now()
				m.console.Unlock()
				close(m.booted)
			})
		case strings.HasPrefix(line, "@gh up "), line == "@gh ready":
			upOnce.Do(func() { close(m.up) })
		}
	}
	m.exitErr = m.cmd.Wait()
	m.exitAt = time.Now()
	os.RemoveAll(m.work)
	close(m.exited)
}

// log returns the console so far, one line per line, without the serial
// line's carriage returns.
func (m *vm) log() string {
	m.console.Lock()
	defer m.console.Unlock()
	if len(m.console.lines) == 0 {
		return ""
	}
	return strings.Join(m.console.lines, "\n") + "\n"
}

func (m *vm) bootTime() time.Duration {
	m.console.Lock()
	defer m.console.Unlock()
	if m.console.bootAt.IsZero() {
		return 0
	}
	return m.console.bootAt.Sub(m.start)
}

// kill ends QEMU at once, the way pulling the power cord ends a PC: the
// guest sends nothing more, not even a TCP reset. It reports whether QEMU
// was still running.
func (m *vm) kill() bool {
	select {
	case <-m.exited:
		return false
	default:
		return m.cmd.Process.Kill() == nil
	}
}

// stop kills QEMU and waits until it has gone.
func (m *vm) stop() {
	m.kill()
	<-m.exited
}

// wait waits for QEMU to power off, up to limit; false on timeout.
func (m *vm) wait(limit time.Duration) bool {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-m.exited:
		return true
	case <-t.C:
	}
	select { // the VM may have ended just as time ran out
	case <-m.exited:
		return true
	default:
		return false
	}
}
