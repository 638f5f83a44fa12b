// Opcodes used by the kernels, named as in the WebAssembly text format (dots become
// underscores). Plain opcodes are one byte; SIMD opcodes follow the 0xFD prefix and
// saturating truncations the 0xFC prefix, both as unsigned LEB128.
// References: https://webassembly.github.io/spec/core/binary/instructions.html and
// https://github.com/WebAssembly/simd/blob/main/proposals/simd/BinarySIMD.md

/** Block type of a block/loop/if that takes and returns nothing. */
export const BLOCK_VOID = 0x40;

export const Op = {
  unreachable: 0x00,
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  return: 0x0f,
  call: 0x10,
  drop: 0x1a,
  select: 0x1b,

  local_get: 0x20,
  local_set: 0x21,
  local_tee: 0x22,
  global_get: 0x23,

  i32_load: 0x28,
  f32_load: 0x2a,
  f64_load: 0x2b,
  f32_store: 0x38,
  f64_store: 0x39,

  i32_const: 0x41,
  i64_const: 0x42,
  f32_const: 0x43,
  f64_const: 0x44,

  i32_eqz: 0x45,
  i32_eq: 0x46,
  i32_ne: 0x47,
  i32_lt_s: 0x48,
  i32_lt_u: 0x49,
  i32_gt_s: 0x4a,
  i32_le_s: 0x4c,
  i32_ge_s: 0x4e,
  f32_gt: 0x5e,
  f64_ne: 0x62,
  f64_lt: 0x63,
  f64_gt: 0x64,

  i32_add: 0x6a,
  i32_sub: 0x6b,
  i32_mul: 0x6c,
  i32_and: 0x71,
  i32_or: 0x72,
  i32_shl: 0x74,
  i32_shr_s: 0x75,
  i64_add: 0x7c,
  i64_sub: 0x7d,
  i64_and: 0x83,
  i64_or: 0x84,
  i64_shl: 0x86,
  i64_shr_u: 0x88,

  f32_add: 0x92,
  f32_sub: 0x93,
  f32_mul: 0x94,
  f64_abs: 0x99,
  f64_neg: 0x9a,
  f64_nearest: 0x9e,
  f64_add: 0xa0,
  f64_sub: 0xa1,
  f64_mul: 0xa2,
  f64_div: 0xa3,
  f64_min: 0xa4,
  f64_max: 0xa5,

  i32_wrap_i64: 0xa7,
  i64_extend_i32_s: 0xac,
  f32_demote_f64: 0xb6,
  f64_convert_i64_s: 0xb9,
  f64_promote_f32: 0xbb,
  i64_reinterpret_f64: 0xbd,
  f64_reinterpret_i64: 0xbf,

  prefix_fc: 0xfc,
  prefix_simd: 0xfd,
} as const;

/** Opcodes after the 0xFC prefix. */
export const OpFC = {
  i64_trunc_sat_f64_s: 0x06,
} as const;

/** Opcodes after the 0xFD prefix (SIMD, 128-bit vectors). */
export const Simd = {
  v128_load: 0x00,
  v128_load32_splat: 0x09,
  v128_store: 0x0b,
  v128_const: 0x0c,
  i8x16_shuffle: 0x0d,
  i32x4_splat: 0x11,
  f32x4_splat: 0x13,
  f32x4_extract_lane: 0x1f,
  f32x4_replace_lane: 0x20,

  f32x4_lt: 0x43,
  f32x4_ge: 0x46,

  v128_not: 0x4d,
  v128_and: 0x4e,
  v128_andnot: 0x4f,
  v128_or: 0x50,
  v128_xor: 0x51,
  v128_bitselect: 0x52,

  v128_load32_lane: 0x56,
  v128_store32_lane: 0x5a,
  v128_load32_zero: 0x5c,

  f32x4_nearest: 0x6a,

  i32x4_shl: 0xab,
  i32x4_add: 0xae,
  i32x4_sub: 0xb1,

  f32x4_abs: 0xe0,
  f32x4_neg: 0xe1,
  f32x4_add: 0xe4,
  f32x4_sub: 0xe5,
  f32x4_mul: 0xe6,
  f32x4_div: 0xe7,
  f32x4_min: 0xe8,
  f32x4_max: 0xe9,
  f32x4_pmin: 0xea,
  f32x4_pmax: 0xeb,

  i32x4_trunc_sat_f32x4_s: 0xf8,
  f32x4_convert_i32x4_s: 0xfa,

  // Relaxed SIMD (https://github.com/WebAssembly/relaxed-simd): a·b + c, fused or not as the
  // hardware prefers. Node ≥ 22, Chrome ≥ 114; validated before use (src/backend/wasm.ts).
  f32x4_relaxed_madd: 0x105,
} as const;
