/**
 * Test helpers: a fresh citizen on the simulated phone, pages loaded and rendered in
 * miniprogram-simulate, and waiting for what a page shows.
 */
import { join } from 'node:path'
import simulate from 'miniprogram-simulate'
import { BASE_URL_KEY, REALNAME_APP_KEY } from '../api/config'
import { base, control } from './http'
import { newPhone, TEST_REALNAME_APPID, type Phone } from './wx-shim'

export const phone = (): Phone => (globalThis as unknown as { phone: Phone }).phone

const ROOT = join(__dirname, '..')

/**
 * idNumber gives a valid 18-digit ID number (GB 11643 check character), random over about 11
 * million birth dates and sequence numbers (each test file has its own module state, so a
 * counter alone would repeat across files sharing the one Banshi).
 */
export function idNumber(): string {
  const r = (n: number) => Math.floor(Math.random() * n)
  const pad = (n: number, w: number) => String(n).padStart(w, '0')
  const body = `440106${1950 + r(50)}${pad(1 + r(12), 2)}${pad(10 + r(19), 2)}${pad(r(1000), 3)}`
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(body[i]) * weights[i]
  return body + '10X98765432'[sum % 11]
}

export interface Citizen {
  openid: string
  unionid: string
  name: string
  idNumber: string
}

/**
 * freshCitizen registers a new WeChat user (with the identity given to WeChat Pay) and puts a
 * new phone in their hand: empty storage but for the test Banshi's base URL and the real-name
 * page.
 */
export async function freshCitizen(name = '张三'): Promise<Citizen> {
  const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
  const c: Citizen = { openid: `o_mini_${tag}`, unionid: `u_mini_${tag}`, name, idNumber: idNumber() }
  await control('POST', '/sim/wechat/users', { openid: c.openid, unionid: c.unionid, real_name: c.name, id_number: c.idNumber })
  const p = newPhone()
  p.openid = c.openid
  p.storage.set(BASE_URL_KEY, base())
  p.storage.set(REALNAME_APP_KEY, { appId: TEST_REALNAME_APPID, path: 'pages/auth' })
  ;(globalThis as unknown as { phone: Phone }).phone = p
  return c
}

/** A rendered page: the component and its instance (the page's methods and data). */
export interface Rendered {
  comp: any
  page: any
  text(selector: string): string
  all(selector: string): any[]
  /** tap dispatches a tap (j-component delivers it asynchronously) and waits for its delivery. */
  tap(selector: string): Promise<void>
  /** input types a value into an input and waits for the page to receive it. */
  input(selector: string, value: string): Promise<void>
}

/**
 * render loads pages/<name>/<name> afresh (its module runs again, as on a phone opening it),
 * attaches it and calls onLoad with the query; it resolves when onLoad has finished.
 */
export async function render(name: string, query: Record<string, string> = {}): Promise<Rendered> {
  let id = ''
  jest.isolateModules(() => {
    id = simulate.load(join(ROOT, 'pages', name, name), { compiler: 'simulate', rootPath: ROOT })
  })
  const comp = simulate.render(id)
  comp.attach(document.createElement('parent-wrapper'))
  const page = comp.instance
  await page.onLoad(query)
  const r: Rendered = {
    comp,
    page,
    text: (sel) => {
      const el = comp.querySelector(sel)
      return el ? String(el.dom?.textContent ?? '').trim() : ''
    },
    all: (sel) => comp.querySelectorAll(sel),
    tap: async (sel) => {
      const el = comp.querySelector(sel)
      if (!el) throw new Error(`nothing matches ${sel}`)
      el.dispatchEvent('tap')
      await simulate.sleep(0)
    },
    input: async (sel, value) => {
      const el = comp.querySelector(sel)
      if (!el) throw new Error(`nothing matches ${sel}`)
      el.dispatchEvent('input', { detail: { value } })
      await simulate.sleep(0)
    },
  }
  return r
}

/** waitFor polls until check returns true (or throws after ms). */
export async function waitFor(check: () => boolean, ms = 10000, what = 'condition'): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await simulate.sleep(20)
  }
}

/**
 * citizenAtLevel3 is a fresh citizen logged in on the phone and proven at level 3 (declare,
 * then WeChat's real-name check), through the same client the pages use.
 */
export async function citizenAtLevel3(): Promise<Citizen> {
  const c = await freshCitizen()
  let client: typeof import('../api/wx').api | undefined
  let consent: typeof import('../utils/wechat').realnameConsentCode | undefined
  jest.isolateModules(() => {
    client = require('../api/wx').api
    consent = require('../utils/wechat').realnameConsentCode
  })
  await client!.login()
  await client!.declareIdentity(c.name, c.idNumber)
  const res = await client!.checkRealname(c.name, c.idNumber, await consent!())
  if (res.user.realname_level !== 3) throw new Error(`level ${res.user.realname_level}, want 3`)
  return c
}

/** token is the session token the phone holds now. */
export function token(): string {
  return String(phone().storage.get('banshi.token') ?? '')
}

/** raiseToLevel4 finishes face verification for the citizen on the phone (WeChat's face check played by the simulator). */
export async function raiseToLevel4(c: Citizen): Promise<void> {
  let client: typeof import('../api/wx').api | undefined
  let face: typeof import('../utils/wechat').faceVerify | undefined
  jest.isolateModules(() => {
    client = require('../api/wx').api
    face = require('../utils/wechat').faceVerify
  })
  const { verify_id } = await client!.startFace(c.name, c.idNumber)
  await face!(verify_id)
  const res = await client!.finishFace(verify_id)
  if (res.user.realname_level !== 4) throw new Error(`level ${res.user.realname_level}, want 4`)
}
