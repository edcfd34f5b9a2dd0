// Package e2e holds bulwark's process-level tests: the real binary in front
// of real backend processes (e2e/testbackend), killed, restarted, drained and
// put behind HAProxy. Everything listens on 127.0.0.1; every process a test
// starts is killed when the test ends. It has no code of its own.
package e2e
