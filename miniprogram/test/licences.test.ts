/**
 * The licence wallet: a licence the department simulator issues shows as a QR (Banshi's signed
 * 60-second token) that the page replaces itself before it expires; closing stops it.
 */
import { citizenAtLevel3, render, waitFor } from './helpers'
import { control } from './http'

test('亮证 shows a QR and plans a fresh one before the 60 s run out', async () => {
  const c = await citizenAtLevel3()
  const lic = (await control('POST', '/sim/department/demo-dept/licences', {
    licence: { holder: { name: c.name, code: c.idNumber, code_type: '111' } },
  })) as { identifier: string }

  const w = await render('licences')
  expect(w.text('#error')).toBe('')
  expect(w.all('.licence').length).toBe(1)
  expect(w.page.data.rows[0].id).toBe(lic.identifier)

  const planned: Array<{ fn: () => void; ms: number }> = []
  const real = global.setTimeout
  const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
    if ((ms ?? 0) >= 1000) {
      planned.push({ fn, ms: ms ?? 0 })
      return 0 as unknown as ReturnType<typeof setTimeout>
    }
    return real(fn, ms)
  }) as typeof setTimeout)
  try {
    await w.tap('.licence .show')
    await waitFor(() => w.page.data.shown === 1 || w.text('#error') !== '', 10000, 'the QR')
    expect(w.text('#error')).toBe('')
    const first = w.page.data.qr as string
    expect(first).toMatch(/^data:image\/png;base64,iVBOR/)
    // The next QR is planned about 50 s on: 60 s of validity less the 10 s margin.
    expect(planned.length).toBe(1)
    expect(planned[0].ms).toBeGreaterThan(40000)
    expect(planned[0].ms).toBeLessThanOrEqual(50000)
    planned[0].fn()
    await waitFor(() => w.page.data.shown === 2, 10000, 'the refreshed QR')
    expect(w.page.data.qr).not.toBe(first)
    await w.tap('#close')
    expect(w.page.data.showing).toBe('')
    expect(w.page.data.qr).toBe('')
  } finally {
    spy.mockRestore()
  }
})
