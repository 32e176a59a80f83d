/** Amounts from fen, exactly: integer arithmetic only, every digit kept. */
import { yuan, yuanLabel } from '../utils/money'

test.each([
  [0, '0.00'],
  [1, '0.01'],
  [10, '0.10'],
  [99, '0.99'],
  [100, '1.00'],
  [8000, '80.00'],
  [38000, '380.00'],
  [123456, '1,234.56'],
  [-5, '-0.05'],
  [-123456789, '-1,234,567.89'],
  // The largest safe integer: a float division would round here.
  [Number.MAX_SAFE_INTEGER, '90,071,992,547,409.91'],
  [Number.MAX_SAFE_INTEGER - 8, '90,071,992,547,409.83'],
])('yuan(%p) = %p', (fen, want) => {
  expect(yuan(fen)).toBe(want)
})

test('yuanLabel adds the currency sign', () => {
  expect(yuanLabel(8000)).toBe('¥80.00')
})

test.each([[0.5], [NaN], [Infinity], [Number.MAX_SAFE_INTEGER + 1]])('yuan refuses %p (not an integer number of fen)', (v) => {
  expect(() => yuan(v)).toThrow('not an integer number of fen')
})
