/**
 * A WeChat payment that ends handled: the department's system issues a bill to the citizen's
 * proven ID number; the bills page shows it exactly from fen; paying creates the order at
 * Banshi, the cashier (the WeChat Pay simulator) pays with Banshi's pay_params, and the order
 * page polls Banshi until the department accepted: handled.
 */
import { citizenAtLevel3, phone, render, waitFor } from './helpers'
import { control } from './http'

test('a bill paid with WeChat Pay ends handled on the order page', async () => {
  const c = await citizenAtLevel3()
  const billNo = `MP${Date.now()}${Math.floor(Math.random() * 1000)}`
  await control('POST', '/sim/department/demo-dept/bills', {
    action: 'issue',
    bill_no: billNo,
    kind: 'non_tax',
    item: '不动产登记费',
    amount_fen: 8005,
    due_date: '2099-01-31',
    payer: { type: 'person', id_number: c.idNumber, name: c.name },
    collecting_unit: { code: '440106-BDC', name: '广州市天河区不动产登记中心' },
    verification_code: 'K7P2Q9',
  })

  const bills = await render('bills')
  expect(bills.text('#error')).toBe('')
  expect(bills.text(`#bill-${billNo} .due`)).toContain('¥80.05')
  expect(bills.text(`#bill-${billNo} .status`)).toBe('待缴费')
  await bills.tap(`#bill-${billNo} .pay`)
  await waitFor(() => phone().navigations.length > 0, 15000, 'the order page')
  expect(bills.text('#error')).toBe('')
  const url = phone().navigations[phone().navigations.length - 1]
  const m = /^\/pages\/order\/order\?order_no=(.+)$/.exec(url)
  expect(m).not.toBeNull()

  const order = await render('order', { order_no: decodeURIComponent(m![1]) })
  expect(order.text('#error')).toBe('')
  expect(order.page.data.status).toBe('handled')
  expect(order.text('#status')).toBe('缴费成功')
  expect(order.page.data.amount).toBe('80.05')
  expect((order.page.data.steps as { text: string }[]).map((s) => s.text)).toEqual(['待支付', '已支付，等待部门确认', '缴费成功'])
})

test('a payment cancelled at the cashier says so in Chinese and opens no order page', async () => {
  const c = await citizenAtLevel3()
  const billNo = `MC${Date.now()}${Math.floor(Math.random() * 1000)}`
  await control('POST', '/sim/department/demo-dept/bills', {
    action: 'issue',
    bill_no: billNo,
    kind: 'non_tax',
    item: '不动产登记费',
    amount_fen: 100,
    due_date: '2099-01-31',
    payer: { type: 'person', id_number: c.idNumber, name: c.name },
    collecting_unit: { code: '440106-BDC', name: '广州市天河区不动产登记中心' },
    verification_code: 'K7P2Q9',
  })
  phone().payOutcome = 'cancel'
  const bills = await render('bills')
  await bills.tap(`#bill-${billNo} .pay`)
  await waitFor(() => bills.text('#error') !== '', 15000, 'the cancellation message')
  expect(bills.text('#error')).toBe('已取消支付')
  expect(phone().navigations).toEqual([])
})
