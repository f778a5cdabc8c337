//go:build amd64 && !purego

package cookiecodec

import (
	"os"
	"strings"
)

// decodeBlocksAVX2 decodes up to blocks blocks of 32 characters of
// base64url's alphabet from src into 24 bytes each at dst, writing 32
// bytes for each (8 past the block's), and stops before the first block
// that holds any other character. It returns how many it decoded.
//
//go:noescape
func decodeBlocksAVX2(dst, src *byte, blocks int) int

func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

// hasAVX2 reports whether the processor has AVX2 and the system saves
// its registers.
func hasAVX2() bool {
	if max, _, _, _ := cpuid(0, 0); max < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const osxsave, avx = 1 << 27, 1 << 28
	if ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&0b110 != 0b110 { // XMM and YMM state
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

// useAVX2 says whether decodeURL calls decodeBlocksAVX2: the processor
// has AVX2, and GODEBUG does not turn it off (cpu.avx2=off or
// cpu.all=off, as for the runtime and the standard library). Tests turn
// it off to check the table path.
var useAVX2 = hasAVX2() && !godebugOff(os.Getenv("GODEBUG"))

// godebugOff reports whether the GODEBUG value turns AVX2 off; the last
// setting of a key wins, as the runtime reads it.
func godebugOff(godebug string) bool {
	off := false
	for _, kv := range strings.Split(godebug, ",") {
		switch kv {
		case "cpu.avx2=off", "cpu.all=off":
			off = true
		case "cpu.avx2=on":
			off = false
		}
	}
	return off
}
