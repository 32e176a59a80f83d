/**
 * Refusals are shown in Banshi's Chinese and change nothing; a revoked session is replaced
 * silently (wx.login once more) and the page works.
 */
import { freshCitizen, citizenAtLevel3, phone, render, token } from './helpers'
import { base, httpJSON } from './http'

function wrongCheckCharacter(id: string): string {
  const last = id[17]
  const other = last === '0' ? '1' : '0'
  return id.slice(0, 17) + other
}

test('a bad ID number is refused in Chinese and the level stays', async () => {
  const c = await freshCitizen()
  const rn = await render('realname')
  expect(rn.text('#level')).toBe('未实名（微信登录）')
  await rn.input('#name', c.name)
  await rn.input('#id-number', wrongCheckCharacter(c.idNumber))
  await rn.page.declare()
  expect(rn.text('#error')).toMatch(/^身份证号校验位错误/)
  expect(phone().toasts[phone().toasts.length - 1]).toBe(rn.text('#error'))
  expect(rn.text('#level')).toBe('未实名（微信登录）')
  const me = await httpJSON('GET', `${base()}/api/v1/me`, undefined, { Authorization: `Bearer ${token()}` })
  expect((me.body as { user: { realname_level: number; name_masked?: string } }).user).toEqual(
    expect.objectContaining({ realname_level: 1 }),
  )
  expect((me.body as { user: { name_masked?: string } }).user.name_masked).toBeUndefined()
})

test('a session revoked on Banshi is replaced silently and the page still loads', async () => {
  await citizenAtLevel3()
  const before = token()
  expect(before).not.toBe('')
  const out = await httpJSON('POST', `${base()}/api/v1/auth/logout`, undefined, { Authorization: `Bearer ${before}` })
  expect(out.status).toBeLessThan(300)
  const revoked = await httpJSON('GET', `${base()}/api/v1/me`, undefined, { Authorization: `Bearer ${before}` })
  expect(revoked.status).toBe(401)

  const rn = await render('realname')
  expect(rn.text('#error')).toBe('')
  expect(rn.text('#level')).toBe('已通过微信实名核验')
  const after = token()
  expect(after).not.toBe('')
  expect(after).not.toBe(before)
})
