//go:build amd64 && !purego

package cookiecodec

import "testing"

// GODEBUG turns the AVX2 path off as it turns off the runtime's.
func TestGodebugTurnsAVX2Off(t *testing.T) {
	for godebug, want := range map[string]bool{
		"":                           false,
		"cpu.avx2=off":               true,
		"madvdontneed=1,cpu.all=off": true,
		"cpu.avx2=off,cpu.avx2=on":   false,
		"cpu.avx512=off":             false,
		"xcpu.avx2=off":              false,
	} {
		if got := godebugOff(godebug); got != want {
			t.Errorf("godebugOff(%q) = %v, want %v", godebug, got, want)
		}
	}
}
