//go:build !amd64 || purego

package cookiecodec

// useAVX2 is false: decodeURL decodes with table lookups alone.
var useAVX2 = false

// decodeBlocksAVX2 is never called where useAVX2 is false.
func decodeBlocksAVX2(dst, src *byte, blocks int) int { return 0 }
