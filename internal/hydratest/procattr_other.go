//go:build !linux

package hydratest

import "syscall"

// sysProcAttr returns nil: only Linux can tie Hydra's life to the test
// binary's, so elsewhere a killed test binary can leave Hydra running.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
