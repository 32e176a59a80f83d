/**
 * A booking through the booking page, with its subscribe prompt: hall → service → date → slot →
 * confirm asks wx.requestSubscribeMessage for the booking templates Banshi lists, books, and
 * records the answers; my appointments shows it with its check-in code and cancels it.
 */
import { citizenAtLevel3, phone, render, token, waitFor } from './helpers'
import { base, control, httpJSON } from './http'
import { qrDataURL } from '../utils/qr'

async function tapFirstOpen(r: Awaited<ReturnType<typeof render>>, selector: string, field: string): Promise<void> {
  const els = r.all(selector)
  const i = (r.page.data[field] as Array<{ remaining: number }>).findIndex((x) => x.remaining > 0)
  if (i < 0) throw new Error(`no open ${selector}`)
  els[i].dispatchEvent('tap')
}

test('booking asks for the subscribe templates Banshi lists, books, and my appointments cancels it', async () => {
  await citizenAtLevel3()
  const templates = (await control('GET', '/api/v1/notify/templates')) as { templates: { event: string; template_id: string }[] }
  const want = ['appointment_booked', 'appointment_reminder', 'appointment_cancelled']
    .map((ev) => templates.templates.find((t) => t.event === ev)?.template_id)
    .filter(Boolean)
  expect(want.length).toBeGreaterThan(0)

  const b = await render('booking')
  expect(b.all('.hall').length).toBeGreaterThanOrEqual(2)
  await b.tap('.hall')
  await waitFor(() => b.all('.service').length > 0, 10000, 'services')
  await b.tap('.service')
  await waitFor(() => b.all('.date').length > 0, 10000, 'dates')
  await tapFirstOpen(b, '.date', 'dates')
  await waitFor(() => b.all('.slot').length > 0, 10000, 'slots')
  await tapFirstOpen(b, '.slot', 'slots')
  await waitFor(() => b.all('#confirm').length === 1, 5000, 'the confirm button')
  expect(phone().subscribePrompts).toEqual([])
  await b.tap('#confirm')
  await waitFor(() => b.text('#subscribed') !== '', 15000, 'the booking and the subscriptions')
  expect(b.text('#error')).toBe('')
  expect(phone().subscribePrompts).toEqual([want])
  expect(b.text('#subscribed')).toBe(`已开启 ${want.length} 项微信提醒`)
  const booked = b.page.data.booked as { id: string; checkin_code: string; status: string }
  expect(booked.status).toBe('booked')

  // Banshi has it, and the accepted templates count as sends.
  const mine = await httpJSON('GET', `${base()}/api/v1/me/appointments`, undefined, { Authorization: `Bearer ${token()}` })
  expect((mine.body as { appointments: { id: string }[] }).appointments.map((a) => a.id)).toContain(booked.id)

  const list = await render('appointments')
  expect(list.text(`#appt-${booked.id} .status`)).toBe('已预约')
  expect(list.text(`#appt-${booked.id} .code`)).toBe(booked.checkin_code)
  // The check-in QR drawn on the phone is the one of Banshi's payload (test/qr.test.ts decodes such images).
  const row = (list.page.data.rows as { id: string; qrImage: string }[]).find((r) => r.id === booked.id)!
  expect(row.qrImage).toBe(qrDataURL((booked as unknown as { checkin_qr: string }).checkin_qr))
  await list.tap(`#appt-${booked.id} .cancel`)
  await waitFor(() => list.text(`#appt-${booked.id} .status`) === '已取消', 10000, 'the cancellation')
  expect(list.text('#error')).toBe('')
})
