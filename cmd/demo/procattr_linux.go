package main

import "syscall"

// sysProcAttr puts each child in its own process group, so a Ctrl-C in the
// terminal reaches only the demo, which then stops the children in order.
// The kernel kills a child when the demo dies without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
