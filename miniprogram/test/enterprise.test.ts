/**
 * The enterprise switch and page: a citizen at level 4 who is the registered legal
 * representative claims the enterprise on the page, switches to it (the choice is stored and the
 * booking page then books on its behalf) and sees its page.
 */
import { citizenAtLevel3, phone, raiseToLevel4, render, waitFor } from './helpers'
import { control } from './http'

const USCC = '91440101MA5CXXXX7X'

test('claim, switch to the enterprise, see its page, and the booking page acts for it', async () => {
  const c = await citizenAtLevel3()
  await raiseToLevel4(c)
  // The registry (simulated) names this citizen the demo enterprise's legal representative.
  await control('PUT', `/sim/registry/control/enterprises/${USCC}`, {
    uscc: USCC,
    name: '广州某某科技有限公司',
    status: '存续',
    legal_representative: { name: c.name, id_number: c.idNumber },
  })

  const ent = await render('enterprise')
  expect(ent.all('.enterprise').length).toBe(0)
  await ent.input('#claim-uscc', USCC)
  await ent.tap('#claim')
  await waitFor(() => ent.all('.enterprise').length === 1 || ent.text('#error') !== '', 10000, 'the claim')
  expect(ent.text('#error')).toBe('')
  await ent.tap('.enterprise')
  await waitFor(() => ent.text('#ent-name') !== '' || ent.text('#error') !== '', 10000, 'the enterprise page')
  expect(ent.text('#error')).toBe('')
  expect(ent.text('#ent-name')).toBe('广州某某科技有限公司')
  expect(ent.page.data.roleText).toBe('法定代表人')
  expect(phone().storage.get('banshi.actingEnterprise')).toEqual({ uscc: USCC, name: '广州某某科技有限公司' })

  const b = await render('booking')
  expect(b.text('#acting')).toBe('代 广州某某科技有限公司 预约')
})
