package main

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a child gets after SIGTERM before it is killed.
const stopTimeout = 5 * time.Second

// child is a program the demo started.
type child struct {
	name string
	cmd  *exec.Cmd
	out  *prefixWriter
	done chan struct{} // closed when the process has exited
	err  error         // the result of Wait, valid once done is closed
}

// startChild starts path with args and env, writes its output line by line
// behind "name | ", and sends the child to exited when it exits.
func startChild(name, path string, args, env []string, console *console, exited chan<- *child) (*child, error) {
	c := &child{name: name, done: make(chan struct{}), out: console.writer(name)}
	c.cmd = exec.Command(path, args...)
	c.cmd.Env = env
	c.cmd.Stdout = c.out
	c.cmd.Stderr = c.out
	c.cmd.SysProcAttr = sysProcAttr()

	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}

	go func() {
		c.err = c.cmd.Wait()
		c.out.flush()
		close(c.done)
		exited <- c
	}()
	return c, nil
}

// stop sends SIGTERM and kills the child if it has not exited after
// stopTimeout. It returns once the child has exited.
func (c *child) stop() {
	select {
	case <-c.done:
		return
	default:
	}

	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// stopAll stops the children at the same time.
func stopAll(children []*child) {
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop()
		}()
	}
	wg.Wait()
}

// console serialises the lines of all children and of the demo itself on
// one writer, each behind the name of its source padded to one width.
type console struct {
	mu    sync.Mutex
	out   io.Writer
	width int
}

func newConsole(out io.Writer, names ...string) *console {
	c := &console{out: out}
	for _, name := range names {
		c.width = max(c.width, len(name))
	}
	return c
}

// printf writes one message of the demo itself.
func (c *console) printf(format string, args ...any) {
	c.line("demo", fmt.Sprintf(format, args...))
}

func (c *console) line(name, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, "%-*s | %s\n", c.width, name, text)
}

// raw writes text as it is, for the banner.
func (c *console) raw(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	io.WriteString(c.out, text)
}

func (c *console) writer(name string) *prefixWriter {
	return &prefixWriter{console: c, name: name}
}

// prefixWriter splits a child's output into lines for the console. It
// holds back a partial line until its newline arrives or flush is called.
type prefixWriter struct {
	console *console
	name    string
	mu      sync.Mutex
	partial []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()

	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.console.line(w.name, string(bytes.TrimRight(w.partial[:i], "\r")))
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// flush writes a last line that had no newline.
func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()

	if len(w.partial) > 0 {
		w.console.line(w.name, string(w.partial))
		w.partial = nil
	}
}
