//go:build !linux

package schemas

import "testing"

// cpuPerOp runs the loop; thread CPU time is measured on Linux only.
func cpuPerOp(b *testing.B, body func()) {
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body()
	}
}
