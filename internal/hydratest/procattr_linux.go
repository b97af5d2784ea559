package hydratest

import "syscall"

// sysProcAttr makes the kernel kill Hydra when the test binary dies, for
// example on a test timeout, so Hydra does not keep running without it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
