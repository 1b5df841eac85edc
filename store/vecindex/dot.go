package vecindex

// dotsGo is the portable kernel: the same sums as the assembly, eight lanes
// at a time so the compiler keeps them in registers.
func dotsGo(q []int16, codes []int8, out []int32) {
	stride := len(q)
	for i := range out {
		c := codes[i*stride : (i+1)*stride : (i+1)*stride]
		var s0, s1, s2, s3 int32
		for j := 0; j+8 <= stride; j += 8 {
			qq := q[j : j+8 : j+8]
			cc := c[j : j+8 : j+8]
			s0 += int32(qq[0])*int32(cc[0]) + int32(qq[1])*int32(cc[1])
			s1 += int32(qq[2])*int32(cc[2]) + int32(qq[3])*int32(cc[3])
			s2 += int32(qq[4])*int32(cc[4]) + int32(qq[5])*int32(cc[5])
			s3 += int32(qq[6])*int32(cc[6]) + int32(qq[7])*int32(cc[7])
		}
		out[i] = s0 + s1 + s2 + s3
	}
}
