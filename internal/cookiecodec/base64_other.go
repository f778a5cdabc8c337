//go:build !amd64 || purego

package cookiecodec

// vectorBlocks is nil: decodeURL decodes with table lookups alone.
var vectorBlocks func(dst, src *byte, blocks int) int
