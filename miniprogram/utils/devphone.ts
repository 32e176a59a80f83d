/**
 * Development only: in WeChat DevTools against a local `go run ./cmd/banshi`, WeChat's own
 * answers (login codes, the real-name page, face verification, the cashier) are not the
 * development simulators', so nothing could log in. When a developer stores a simulated WeChat
 * user's openid under SIM_OPENID_KEY (我的设置 → 开发调试), these functions play the phone
 * through Banshi's /sim/ control endpoints instead, as the tests' shim does. Banshi mounts /sim/
 * only in development; a release build never stores the key.
 */
import { baseURL } from '../api/config'
import { BanshiError } from '../api/errors'
import type { JSAPIPayParams } from '../api/types'

export const SIM_OPENID_KEY = 'banshi.simOpenid'

/** simOpenid gives the simulated user's openid, or '' when the phone is a real one. */
export function simOpenid(): string {
  const v = wx.getStorageSync(SIM_OPENID_KEY)
  return typeof v === 'string' ? v.trim() : ''
}

function post(path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    wx.request({
      url: baseURL().replace(/\/+$/, '') + path,
      method: 'POST',
      data: body,
      header: { 'content-type': 'application/json' },
      success: (res) =>
        res.statusCode >= 200 && res.statusCode < 300
          ? resolve((res.data || {}) as Record<string, unknown>)
          : reject(new BanshiError(res.statusCode, 'simulator_refused', `开发模拟器拒绝了请求（${res.statusCode}）`)),
      fail: (err) => reject(new BanshiError(0, 'network_error', `无法连接开发模拟器（${err.errMsg}）`)),
    })
  })
}

/** simLoginCode is a login code of the simulated user (POST /sim/wechat/codes). */
export async function simLoginCode(openid: string): Promise<string> {
  return String((await post('/sim/wechat/codes', { openid, kind: 'miniprogram' })).code)
}

/** simRealnameCode is a real-name consent code of the simulated user. */
export async function simRealnameCode(openid: string): Promise<string> {
  return String((await post('/sim/wechat/realname-codes', { openid })).code)
}

/** simFace completes the face verification as passed. */
export async function simFace(verifyId: string): Promise<void> {
  await post(`/sim/wechat/face/${encodeURIComponent(verifyId)}/complete`, { outcome: 'success' })
}

/** simPay pays the order at the WeChat Pay simulator with Banshi's pay_params. */
export async function simPay(p: JSAPIPayParams): Promise<void> {
  await post('/sim/wechatpay/pay', { pay_params: p, outcome: 'success' })
}
