//go:build amd64 && !purego

#include "textflag.h"

// Constants of decodeBlocksAVX2, each a byte (or a word, a double word)
// repeated over 32 bytes. A character c is in a range [lo, hi] when
// c > lo-1 and not c > hi, compared as signed bytes: every range lies in
// 0x2D..0x7A, and bytes from 0x80 up, negative, are in none.
#define BYTES32(name, b) \
	DATA name<>+0x00(SB)/8, $b; \
	DATA name<>+0x08(SB)/8, $b; \
	DATA name<>+0x10(SB)/8, $b; \
	DATA name<>+0x18(SB)/8, $b; \
	GLOBL name<>(SB), (NOPTR+RODATA), $32

BYTES32(beforeUpper, 0x4040404040404040) // '@', before 'A'
BYTES32(lastUpper, 0x5a5a5a5a5a5a5a5a)   // 'Z'
BYTES32(beforeLower, 0x6060606060606060) // '`', before 'a'
BYTES32(lastLower, 0x7a7a7a7a7a7a7a7a)   // 'z'
BYTES32(beforeDigit, 0x2f2f2f2f2f2f2f2f) // '/', before '0'
BYTES32(lastDigit, 0x3939393939393939)   // '9'
BYTES32(dash, 0x2d2d2d2d2d2d2d2d)        // '-', 62
BYTES32(underscore, 0x5f5f5f5f5f5f5f5f)  // '_', 63

// What each class adds to a character to make its value.
BYTES32(upperToValue, 0xbfbfbfbfbfbfbfbf)      // -65: 'A' is 0
BYTES32(lowerToValue, 0xb9b9b9b9b9b9b9b9)      // -71: 'a' is 26
BYTES32(digitToValue, 0x0404040404040404)      // +4: '0' is 52
BYTES32(dashToValue, 0x1111111111111111)       // +17: '-' is 62
BYTES32(underscoreToValue, 0xe0e0e0e0e0e0e0e0) // -32: '_' is 63

// Packing: pairs of 6-bit values into 12 bits (a<<6 | b), pairs of those
// into 24 (ab<<12 | cd), then the three bytes of each 24 bits, most
// significant first, to the front of each 128-bit lane, and the lanes'
// 12 bytes next to each other.
BYTES32(mergeSixes, 0x0140014001400140)
BYTES32(mergeTwelves, 0x0001100000011000)
DATA threeBytes<>+0x00(SB)/8, $0x090a040506000102
DATA threeBytes<>+0x08(SB)/8, $0xffffffff0c0d0e08
DATA threeBytes<>+0x10(SB)/8, $0x090a040506000102
DATA threeBytes<>+0x18(SB)/8, $0xffffffff0c0d0e08
GLOBL threeBytes<>(SB), (NOPTR+RODATA), $32
DATA lanes<>+0x00(SB)/8, $0x0000000100000000
DATA lanes<>+0x08(SB)/8, $0x0000000400000002
DATA lanes<>+0x10(SB)/8, $0x0000000600000005
DATA lanes<>+0x18(SB)/8, $0x0000000700000003
GLOBL lanes<>(SB), (NOPTR+RODATA), $32

// func decodeBlocksAVX2(dst, src *byte, blocks int) int
//
// Each block: 32 characters from src, classified and turned into their
// values, then packed into 24 bytes stored as 32 at dst (the caller
// leaves room for the 8 more). It stops before the first block holding a
// character outside the alphabet, and returns how many it decoded.
TEXT ·decodeBlocksAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ blocks+16(FP), CX
	XORQ AX, AX
	VMOVDQU mergeSixes<>(SB), Y12
	VMOVDQU mergeTwelves<>(SB), Y13
	VMOVDQU threeBytes<>(SB), Y14
	VMOVDQU lanes<>(SB), Y15

loop:
	CMPQ AX, CX
	JGE  done
	VMOVDQU (SI), Y0

	// Y1 upper, Y2 lower, Y3 digit, Y4 dash, Y5 underscore: 0xff where
	// the character is one.
	VPCMPGTB beforeUpper<>(SB), Y0, Y1
	VPCMPGTB lastUpper<>(SB), Y0, Y6
	VPANDN   Y1, Y6, Y1
	VPCMPGTB beforeLower<>(SB), Y0, Y2
	VPCMPGTB lastLower<>(SB), Y0, Y6
	VPANDN   Y2, Y6, Y2
	VPCMPGTB beforeDigit<>(SB), Y0, Y3
	VPCMPGTB lastDigit<>(SB), Y0, Y6
	VPANDN   Y3, Y6, Y3
	VPCMPEQB dash<>(SB), Y0, Y4
	VPCMPEQB underscore<>(SB), Y0, Y5

	// Every character in one class, or stop.
	VPOR      Y1, Y2, Y6
	VPOR      Y3, Y6, Y6
	VPOR      Y4, Y6, Y6
	VPOR      Y5, Y6, Y6
	VPMOVMSKB Y6, DX
	CMPL      DX, $0xffffffff
	JNE       done

	// The classes are disjoint: their offsets add up to the one that
	// applies.
	VPAND upperToValue<>(SB), Y1, Y1
	VPAND lowerToValue<>(SB), Y2, Y2
	VPAND digitToValue<>(SB), Y3, Y3
	VPAND dashToValue<>(SB), Y4, Y4
	VPAND underscoreToValue<>(SB), Y5, Y5
	VPOR  Y1, Y2, Y1
	VPOR  Y3, Y4, Y3
	VPOR  Y5, Y1, Y1
	VPOR  Y3, Y1, Y1
	VPADDB Y1, Y0, Y0

	VPMADDUBSW Y12, Y0, Y0
	VPMADDWD   Y13, Y0, Y0
	VPSHUFB    Y14, Y0, Y0
	VPERMD     Y0, Y15, Y0
	VMOVDQU    Y0, (DI)

	ADDQ $32, SI
	ADDQ $24, DI
	INCQ AX
	JMP  loop

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET

// func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL subleaf+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax, edx uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	MOVL DX, edx+4(FP)
	RET
