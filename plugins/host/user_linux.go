package host

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// setUser makes the plugin die with the gateway and, when the gateway runs
// as root, run as name with no supplementary groups but groups. The kernel clears the
// permitted and effective capabilities when a root process changes to a
// non-zero user, and the plugin gets no ambient capabilities, so it starts
// with none.
//
// Pdeathsig is sent when the thread that started the plugin exits; Go's
// runtime keeps threads alive, so in practice that is the gateway's exit.
func setUser(cmd *exec.Cmd, name string, groups []string) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return fmt.Errorf("user %q to run the plugin as: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return fmt.Errorf("user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return fmt.Errorf("user %q: gid %q: %w", name, u.Gid, err)
	}
	if uid == 0 {
		return fmt.Errorf("user %q is root: plugins do not run with the gateway's privileges", name)
	}
	extra := []uint32{} // setgroups(0): no supplementary groups but these
	for _, g := range groups {
		grp, err := user.LookupGroup(g)
		if err != nil {
			return fmt.Errorf("group %q to run the plugin with: %w", g, err)
		}
		id, err := strconv.ParseUint(grp.Gid, 10, 32)
		if err != nil || id == 0 {
			return fmt.Errorf("group %q: gid %q: plugins do not run with root's group", g, grp.Gid)
		}
		extra = append(extra, uint32(id))
	}
	cmd.SysProcAttr.Credential = &syscall.Credential{
		Uid:    uint32(uid),
		Gid:    uint32(gid),
		Groups: extra,
	}
	cmd.SysProcAttr.AmbientCaps = nil
	return nil
}
