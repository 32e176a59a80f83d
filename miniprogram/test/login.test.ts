/**
 * First login to level 3, through the pages: the login page's button (wx.login → Banshi), then
 * the real-name page: declare (L2), WeChat's real-name authorisation (L3), face verification (L4).
 */
import { freshCitizen, phone, render, waitFor } from './helpers'
import { base, httpJSON } from './http'

test('first login reaches level 3, then 4, through the login and real-name pages', async () => {
  const c = await freshCitizen()
  const login = await render('login')
  await login.tap('#login')
  await waitFor(() => login.text('#level') !== '', 10000, 'the login result')
  expect(login.text('#level')).toBe('未实名（微信登录）')
  const token = phone().storage.get('banshi.token')
  expect(typeof token).toBe('string')

  const rn = await render('realname')
  expect(rn.text('#level')).toBe('未实名（微信登录）')
  await rn.input('#name', c.name)
  await rn.input('#id-number', c.idNumber)
  await rn.page.declare()
  expect(rn.text('#error')).toBe('')
  expect(rn.text('#level')).toBe('已登记身份信息')
  await rn.page.wechatCheck()
  expect(rn.text('#error')).toBe('')
  expect(rn.text('#level')).toBe('已通过微信实名核验')

  // Face verification (the simulator completes WeChat's check) gives level 4.
  await rn.tap('#face')
  await waitFor(() => rn.text('#level') === '已通过人脸核身' || rn.text('#error') !== '', 10000, 'level 4')
  expect(rn.text('#error')).toBe('')
  expect(rn.text('#level')).toBe('已通过人脸核身')

  // Banshi agrees, with the same session the pages used.
  const me = await httpJSON('GET', `${base()}/api/v1/me`, undefined, { Authorization: `Bearer ${token}` })
  expect(me.status).toBe(200)
  expect((me.body as { user: { realname_level: number } }).user.realname_level).toBe(4)
})
