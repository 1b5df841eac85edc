#include "textflag.h"

// func dotsAVX2(q *int16, codes *int8, stride int, n int, out *int32)
//
// For each of n vectors of stride int8 codes (stride a multiple of 32), the
// dot product with the query's stride int16 values: each 16 codes are
// sign-extended to int16 (VPMOVSXBW) and multiplied pairwise with the query
// into eight int32 sums (VPMADDWD), so 32 codes cost six instructions.
TEXT ·dotsAVX2(SB), NOSPLIT, $0-40
	MOVQ q+0(FP), DI
	MOVQ codes+8(FP), SI
	MOVQ stride+16(FP), DX
	MOVQ n+24(FP), CX
	MOVQ out+32(FP), R8
	TESTQ CX, CX
	JZ done

vector:
	VPXOR Y0, Y0, Y0
	VPXOR Y3, Y3, Y3
	MOVQ DI, R9
	MOVQ DX, R10

inner:
	VPMOVSXBW (SI), Y1
	VPMOVSXBW 16(SI), Y2
	VPMADDWD (R9), Y1, Y1
	VPMADDWD 32(R9), Y2, Y2
	VPADDD Y1, Y0, Y0
	VPADDD Y2, Y3, Y3
	ADDQ $32, SI
	ADDQ $64, R9
	SUBQ $32, R10
	JNZ inner

	VPADDD Y3, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4E, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xB1, X0, X1
	VPADDD X1, X0, X0
	MOVL X0, AX
	MOVL AX, (R8)
	ADDQ $4, R8
	DECQ CX
	JNZ vector

done:
	VZEROUPPER
	RET
