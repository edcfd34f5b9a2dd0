package redistest

import (
	"os/exec"
	"syscall"
)

// orphanKill makes the kernel kill cmd's process when the test binary
// dies without cleaning up (a panic, a timeout): shared servers outlive
// single tests, so nothing else would.
func orphanKill(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
