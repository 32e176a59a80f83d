/**
 * 好差评 after a result: the application page offers the rating once the department delivered;
 * a 差评 without an indicator is refused in Chinese and stores nothing; a 差评 naming one is
 * stored and opens a rectification ticket, listed under 我的评价.
 */
import { citizenAtLevel3, phone, render, token, waitFor } from './helpers'
import { base, control, httpJSON } from './http'

test('a delivered application is rated; a bad rating is refused in Chinese and changes nothing', async () => {
  const c = await citizenAtLevel3()
  const no = `GZ${Date.now()}E`
  for (const status of ['accepted', 'delivered']) {
    await control('POST', '/sim/department/demo-dept/applications', {
      application_no: no,
      service_code: '11440106007482133H4440111009000',
      status,
      applicant: { type: 'person', id_number: c.idNumber, name: c.name },
      ...(status === 'delivered' ? { delivery: { method: 'pickup' } } : {}),
    })
  }
  const detail = await render('application', { no })
  expect(detail.text('#status')).toBe('结果已送达')
  await detail.tap('#evaluate')
  const url = phone().navigations[phone().navigations.length - 1]
  const q = Object.fromEntries(new URLSearchParams(url.split('?')[1]))
  expect(q.application_no).toBe(no)

  const ev = await render('evaluate', q)
  await ev.tap('#level-dissatisfied')
  await ev.tap('#submit')
  await waitFor(() => ev.text('#error') !== '', 10000, 'the refusal')
  expect(ev.text('#error')).toMatch(/[\u4e00-\u9fa5]/)
  const none = await httpJSON('GET', `${base()}/api/v1/me/evaluations`, undefined, { Authorization: `Bearer ${token()}` })
  expect((none.body as { evaluations: unknown[] }).evaluations).toEqual([])

  await ev.tap('#ind-efficiency')
  await ev.tap('#submit')
  await waitFor(() => ev.text('#done') !== '' || ev.text('#error') === '', 10000, 'the evaluation')
  await waitFor(() => ev.text('#done') !== '', 10000, 'the evaluation stored')
  expect(ev.text('#done')).toBe('已提交：不满意。部门将整改并答复您。')

  const mine = await render('evaluate')
  expect(mine.all('.evaluation').length).toBe(1)
  expect(mine.page.data.list[0].level).toBe('不满意')
  expect(mine.page.data.list[0].ticket).toMatch(/^整改：[\u4e00-\u9fa5]/)
})
