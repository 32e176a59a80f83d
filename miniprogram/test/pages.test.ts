/**
 * The other pages against Banshi: home (level, halls, favourites), the service guide, 长辈模式
 * (stored, then every page opens large), applications with their timeline, messages read.
 */
import { citizenAtLevel3, phone, render, token, waitFor } from './helpers'
import { base, control, httpJSON } from './http'

const auth = () => ({ Authorization: `Bearer ${token()}` })

test('home shows the level, the halls nearest first and the favourite services; the guide opens', async () => {
  await citizenAtLevel3()
  const halls = (await control('GET', '/api/v1/halls')) as { halls: { id: string; name: string; location: { lat: number; lng: number } }[] }
  const services = (await control('GET', `/api/v1/halls/${halls.halls[0].id}/services`)) as { services: { id: string; code: string; name: string }[] }
  const fav = services.services[0]
  expect((await httpJSON('PUT', `${base()}/api/v1/me/favorites`, { service_codes: [fav.code] }, auth())).status).toBe(200)
  // The phone stands at the last hall: it comes first.
  const last = halls.halls[halls.halls.length - 1]
  phone().location = { latitude: last.location.lat, longitude: last.location.lng }

  const home = await render('index')
  expect(home.text('#error')).toBe('')
  expect(home.text('#level')).toBe('已通过微信实名核验')
  expect(home.page.data.halls[0]).toMatchObject({ id: last.id, distance: '0 km' })
  expect(home.page.data.favorites).toEqual([{ id: fav.id, name: fav.name }])

  const guide = await render('service', { id: fav.id })
  expect(guide.text('#error')).toBe('')
  expect(guide.text('.title')).toBe(fav.name)
  expect(guide.text('#fee')).toMatch(/^收费：(不收费|¥\d[\d,]*\.\d\d)$/)
})

test('长辈模式 is stored and every page opens large', async () => {
  await citizenAtLevel3()
  const s = await render('settings')
  expect(s.page.data.elder).toBe(false)
  s.comp.querySelector('#elder').dispatchEvent('change', { detail: { value: true } })
  await waitFor(() => s.page.data.elder === true, 2000, 'elder mode')
  expect(phone().storage.get('banshi.elderMode')).toBe(true)
  const b = await render('bills')
  expect(b.comp.dom.firstElementChild.getAttribute('class')).toMatch(/elder/)
})

test('applications show the department steps, and a message is marked read', async () => {
  const c = await citizenAtLevel3()
  const no = `GZ${Date.now()}`
  const report = (status: string, more: Record<string, unknown> = {}) =>
    control('POST', '/sim/department/demo-dept/applications', {
      application_no: no,
      service_code: '11440106007482133H4440111009000',
      status,
      applicant: { type: 'person', id_number: c.idNumber, name: c.name },
      ...more,
    })
  await report('accepted')
  await report('needs_materials', { materials_missing: [{ name: '户口簿复印件', reason: '原件不清晰' }] })

  const list = await render('applications')
  expect(list.text('#error')).toBe('')
  expect(list.page.data.rows).toEqual([expect.objectContaining({ no, statusText: '需补正材料' })])
  const detail = await render('application', { no })
  expect(detail.text('#status')).toBe('需补正材料')
  expect(detail.page.data.steps.map((s: { text: string }) => s.text)).toEqual(['已受理', '需补正材料'])
  expect(detail.page.data.steps[1].missing).toEqual(['户口簿复印件（原件不清晰）'])

  const inbox = await render('messages')
  expect(inbox.text('#error')).toBe('')
  const unread = (inbox.page.data.rows as { id: string; unread: boolean }[]).find((r) => r.unread)
  expect(unread).toBeDefined()
  await inbox.tap(`#msg-${unread!.id}`)
  await waitFor(() => inbox.text('#error') !== '' || !(inbox.page.data.rows as { id: string; unread: boolean }[]).find((r) => r.id === unread!.id)!.unread, 5000, 'read')
  expect(inbox.text('#error')).toBe('')
  const again = await httpJSON('GET', `${base()}/api/v1/me/messages`, undefined, auth())
  expect((again.body as { messages: { id: string; read_at?: string }[] }).messages.find((m) => m.id === unread!.id)!.read_at).toBeTruthy()
})
