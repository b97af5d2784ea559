//go:build !unix

package main

import "syscall"

// sysProcAttr returns nil: outside Unix the children share the demo's
// console and see a Ctrl-C themselves.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
