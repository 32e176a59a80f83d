/**
 * DevTools against a local Banshi: with a simulated user's openid stored (我的设置 → 开发调试), the
 * mini-program logs in, proves level 4, exports and deletes its data using wx.request alone —
 * the wx APIs WeChat would answer are made to fail here, so nothing goes through the shim's phone.
 */
import { SIM_OPENID_KEY } from '../utils/devphone'
import { freshCitizen, phone, render, token, waitFor } from './helpers'
import { base, httpJSON } from './http'

test('a simulated user logs in, reaches level 4, exports and deletes their data through the settings page', async () => {
  const c = await freshCitizen()
  const w = (globalThis as unknown as { wx: Record<string, unknown> }).wx
  const saved: Record<string, unknown> = {}
  const refuse = (name: string) => (o: { fail?: (e: { errMsg: string }) => void }) => o.fail?.({ errMsg: `${name}:fail not in DevTools` })
  for (const k of ['login', 'requestPayment', 'startFacialRecognitionVerify', 'navigateToMiniProgram']) {
    saved[k] = w[k]
    w[k] = refuse(k)
  }
  try {
    const s = await render('settings')
    await s.input('#sim-openid', c.openid)
    await s.tap('#save-sim')
    await waitFor(() => token() !== '' || s.text('#error') !== '', 10000, 'the login')
    expect(s.text('#error')).toBe('')
    expect(phone().storage.get(SIM_OPENID_KEY)).toBe(c.openid)

    const rn = await render('realname')
    await rn.input('#name', c.name)
    await rn.input('#id-number', c.idNumber)
    await rn.page.declare()
    await rn.page.wechatCheck()
    await rn.page.face()
    expect(rn.text('#error')).toBe('')
    expect(rn.text('#level')).toBe('已通过人脸核身')

    const s2 = await render('settings')
    await s2.page.exportData()
    expect(s2.text('#error')).toBe('')
    expect(s2.text('#exported')).toMatch(/^已导出 \d+ 个字符/)
    const old = token()
    await s2.page.deleteAccount()
    expect(s2.text('#error')).toBe('')
    expect(s2.text('#deleted')).toBe('账号已注销')
    expect((await httpJSON('GET', `${base()}/api/v1/me`, undefined, { Authorization: `Bearer ${old}` })).status).toBe(401)
  } finally {
    Object.assign(w, saved)
  }
})
