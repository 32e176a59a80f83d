/**
 * Amounts arrive as integer fen; they are shown as yuan with exactly two decimals, computed
 * with integer arithmetic only (no floating point ever touches money).
 */

/**
 * yuan formats fen as "1,234.56" (negative amounts keep their sign). It throws on a value that
 * is not a safe integer, so a wrong amount never reaches the screen.
 */
export function yuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new Error(`amount is not an integer number of fen: ${fen}`)
  const negative = fen < 0
  const abs = negative ? -fen : fen
  // The decimal digits of the integer, split two from the right: no division, no rounding.
  const digits = String(abs).padStart(3, '0')
  const whole = digits.slice(0, -2)
  const cents = digits.slice(-2)
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}${grouped}.${cents}`
}

/** yuanLabel is yuan with the currency: "¥80.00". */
export function yuanLabel(fen: number): string {
  return `¥${yuan(fen)}`
}
