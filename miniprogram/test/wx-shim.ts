/**
 * The phone, for tests: the wx APIs the pages call. wx.request goes to the real Banshi over
 * HTTP; the APIs where the citizen or WeChat answers are played through the simulators'
 * control endpoints, as the phone would: wx.login → POST /sim/wechat/codes; WeChat's real-name
 * page → POST /sim/wechat/realname-codes; face verification → POST /sim/wechat/face/{id}/complete;
 * wx.requestSubscribeMessage → POST /sim/wechat/subscriptions (the citizen accepts);
 * wx.requestPayment → POST /sim/wechatpay/pay (the cashier pays). Storage is in memory.
 * Installed as a jest setup file, before miniprogram-simulate merges its own mocks under it.
 */
import { control, httpJSON } from './http'

/** The development mini-program's app id (Banshi's development WeChat settings). */
export const DEV_APPID = 'wxdemo0000miniapp'
/** The real-name authorisation page the tests configure (config.realnameApp). */
export const TEST_REALNAME_APPID = 'wx-test-realname-page'

type Callbacks<R> = { success?: (r: R) => void; fail?: (e: { errMsg: string }) => void; complete?: () => void }

export interface Phone {
  /** The WeChat user holding the phone (registered with /sim/wechat/users). */
  openid: string
  storage: Map<string, unknown>
  /** Every navigation a page asked for, newest last. */
  navigations: string[]
  /** Every subscribe prompt, with the template ids asked. */
  subscribePrompts: string[][]
  /** What the citizen answers to the subscribe popup and the cashier. */
  subscribeAnswer: 'accept' | 'reject'
  payOutcome: 'success' | 'cancel'
  modalConfirm: boolean
  location: { latitude: number; longitude: number } | null
  toasts: string[]
}

function finish<R>(o: Callbacks<R>, p: Promise<R>): Promise<R> {
  return p.then(
    (r) => {
      o.success?.(r)
      o.complete?.()
      return r
    },
    (err: unknown) => {
      const e = { errMsg: err instanceof Error ? err.message : String(err) }
      o.fail?.(e)
      o.complete?.()
      throw e
    },
  )
}

function quiet<R>(p: Promise<R>): void {
  p.catch(() => undefined)
}

export function newPhone(): Phone {
  return {
    openid: '',
    storage: new Map(),
    navigations: [],
    subscribePrompts: [],
    subscribeAnswer: 'accept',
    payOutcome: 'success',
    modalConfirm: true,
    location: null,
    toasts: [],
  }
}

const g = globalThis as unknown as { phone: Phone; wx: Record<string, unknown> }
g.phone = newPhone()
const phone = (): Phone => g.phone
const appShow: Array<(o: unknown) => void> = []

const shim: Record<string, unknown> = {
  getStorageSync: (k: string) => (phone().storage.has(k) ? phone().storage.get(k) : ''),
  setStorageSync: (k: string, v: unknown) => void phone().storage.set(k, v),
  removeStorageSync: (k: string) => void phone().storage.delete(k),
  getAccountInfoSync: () => ({ miniProgram: { appId: DEV_APPID, envVersion: 'develop', version: '' } }),

  request(o: Callbacks<{ statusCode: number; data: unknown; header: Record<string, string> }> & {
    url: string
    method?: string
    data?: unknown
    header?: Record<string, string>
  }) {
    const method = (o.method ?? 'GET').toUpperCase()
    const headers = { ...(o.header ?? {}) }
    delete headers['content-type']
    quiet(
      finish(
        o,
        httpJSON(method, o.url, o.data, headers).then((r) => ({ statusCode: r.status, data: r.body ?? '', header: {} })),
      ),
    )
    return { abort() {} }
  },

  login(o: Callbacks<{ code: string; errMsg: string }>) {
    quiet(
      finish(
        o,
        control('POST', '/sim/wechat/codes', { openid: phone().openid, kind: 'miniprogram' }).then((b) => ({
          code: String(b.code),
          errMsg: 'login:ok',
        })),
      ),
    )
  },

  requestSubscribeMessage(o: Callbacks<Record<string, string>> & { tmplIds: string[] }) {
    phone().subscribePrompts.push([...o.tmplIds])
    const answer = phone().subscribeAnswer
    const p = (answer === 'accept'
      ? control('POST', '/sim/wechat/subscriptions', { openid: phone().openid, template_ids: o.tmplIds })
      : Promise.resolve(undefined)
    ).then(() => {
      const res: Record<string, string> = { errMsg: 'requestSubscribeMessage:ok' }
      for (const id of o.tmplIds) res[id] = answer
      return res
    })
    quiet(finish(o, p))
  },

  requestPayment(o: Callbacks<{ errMsg: string }> & { timeStamp: string; nonceStr: string; package: string; signType: string; paySign: string }) {
    const p =
      phone().payOutcome === 'cancel'
        ? Promise.reject(new Error('requestPayment:fail cancel'))
        : control('POST', '/sim/wechatpay/pay', {
            pay_params: { appId: DEV_APPID, timeStamp: o.timeStamp, nonceStr: o.nonceStr, package: o.package, signType: o.signType, paySign: o.paySign },
            outcome: 'success',
          }).then(() => ({ errMsg: 'requestPayment:ok' }))
    quiet(finish(o, p))
  },

  startFacialRecognitionVerify(o: Callbacks<{ errMsg: string }> & { verifyId: string }) {
    quiet(
      finish(
        o,
        control('POST', `/sim/wechat/face/${encodeURIComponent(o.verifyId)}/complete`, { outcome: 'success' }).then(() => ({
          errMsg: 'startFacialRecognitionVerify:ok',
        })),
      ),
    )
  },

  onAppShow: (f: (o: unknown) => void) => void appShow.push(f),
  offAppShow: (f: (o: unknown) => void) => {
    const i = appShow.indexOf(f)
    if (i >= 0) appShow.splice(i, 1)
  },
  navigateToMiniProgram(o: Callbacks<{ errMsg: string }> & { appId: string }) {
    if (o.appId !== TEST_REALNAME_APPID) {
      quiet(finish(o, Promise.reject(new Error('navigateToMiniProgram:fail unknown app'))))
      return
    }
    // The citizen consents on WeChat's page, which sends them back with the code.
    const p = control('POST', '/sim/wechat/realname-codes', { openid: phone().openid }).then((b) => {
      setTimeout(() => {
        for (const f of [...appShow]) f({ path: '', scene: 1038, query: {}, referrerInfo: { appId: o.appId, extraData: { code: b.code } } })
      }, 0)
      return { errMsg: 'navigateToMiniProgram:ok' }
    })
    quiet(finish(o, p))
  },

  getLocation(o: Callbacks<{ latitude: number; longitude: number }>) {
    const loc = phone().location
    quiet(finish(o, loc ? Promise.resolve(loc) : Promise.reject(new Error('getLocation:fail auth deny'))))
  },

  navigateTo: (o: { url: string } & Callbacks<unknown>) => void (phone().navigations.push(o.url), o.success?.({})),
  redirectTo: (o: { url: string } & Callbacks<unknown>) => void (phone().navigations.push(o.url), o.success?.({})),
  reLaunch: (o: { url: string } & Callbacks<unknown>) => void (phone().navigations.push(o.url), o.success?.({})),
  navigateBack: () => undefined,
  showToast: (o: { title: string }) => void phone().toasts.push(o.title),
  showModal: (o: Callbacks<{ confirm: boolean; cancel: boolean }>) => {
    const r = { confirm: phone().modalConfirm, cancel: !phone().modalConfirm }
    o?.success?.(r)
    return Promise.resolve(r)
  },
  stopPullDownRefresh: () => undefined,
  setClipboardData: (o: Callbacks<unknown>) => void o.success?.({}),
}

g.wx = shim
