/**
 * The mini-program's wiring of BanshiClient: wx.request as the transport, wx storage for the
 * token, wx.login for the login code. Pages import `api` from here.
 */
import { BanshiClient, type HttpResponse, type TokenStore, type Transport } from './client'
import { baseURL, TOKEN_KEY } from './config'
import { simLoginCode, simOpenid } from '../utils/devphone'
import { BanshiError } from './errors'

/** wxTransport sends through wx.request (JSON both ways, 15 s timeout). */
export const wxTransport: Transport = {
  send(method, url, body, headers): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      wx.request({
        url,
        method: method as 'GET',
        data: body === undefined ? undefined : (body as WechatMiniprogram.IAnyObject),
        header: { 'content-type': 'application/json', ...headers },
        dataType: 'json',
        timeout: 15000,
        success: (res) => resolve({ status: res.statusCode, body: res.data === '' ? undefined : res.data }),
        fail: (err) => reject(new BanshiError(0, 'network_error', `网络连接失败，请检查网络后重试（${err.errMsg}）`)),
      })
    })
  },
}

/** wxTokens keeps the session token in wx storage. */
export const wxTokens: TokenStore = {
  get() {
    const t = wx.getStorageSync(TOKEN_KEY)
    return typeof t === 'string' ? t : ''
  },
  set(token) {
    wx.setStorageSync(TOKEN_KEY, token)
  },
  clear() {
    wx.removeStorageSync(TOKEN_KEY)
  },
}

/**
 * wxLoginCode asks WeChat for a fresh single-use login code (in development with a simulated
 * user configured, the WeChat simulator's: utils/devphone.ts).
 */
export function wxLoginCode(): Promise<string> {
  const sim = simOpenid()
  if (sim) return simLoginCode(sim)
  return new Promise((resolve, reject) => {
    wx.login({
      success: (res) => (res.code ? resolve(res.code) : reject(new BanshiError(0, 'wechat_login_failed', '微信登录失败，请重试'))),
      fail: () => reject(new BanshiError(0, 'wechat_login_failed', '微信登录失败，请重试')),
    })
  })
}

/** api is the one client of the mini-program. */
export const api = new BanshiClient({ baseURL, transport: wxTransport, tokens: wxTokens, loginCode: wxLoginCode })
