/**
 * Promise wrappers of the WeChat APIs where the phone (the citizen, WeChat's own pages) answers:
 * the subscribe-message popup, WeChat Pay's cashier, face verification and WeChat's real-name
 * authorisation page. Each turns WeChat's failure into a BanshiError with a Chinese message.
 */
import { BanshiError } from '../api/errors'
import { realnameApp } from '../api/config'
import { simFace, simOpenid, simPay, simRealnameCode } from './devphone'
import type { JSAPIPayParams, SubscribeResult } from '../api/types'


/** requestSubscribe asks for the given templates (at most 3) and resolves with WeChat's answer object. */
export function requestSubscribe(tmplIds: string[]): Promise<SubscribeResult> {
  return new Promise((resolve, reject) => {
    wx.requestSubscribeMessage({
      tmplIds,
      success: (res) => resolve(res as unknown as SubscribeResult),
      fail: (err) => reject(new BanshiError(0, 'subscribe_failed', `订阅消息未开启（${err.errMsg}）`)),
    } as WechatMiniprogram.RequestSubscribeMessageOption)
  })
}

/** requestPayment opens WeChat Pay's cashier with Banshi's JSAPI pay_params; cancel is its own code. */
export function requestPayment(p: JSAPIPayParams): Promise<void> {
  if (simOpenid()) return simPay(p)
  return new Promise((resolve, reject) => {
    wx.requestPayment({
      timeStamp: p.timeStamp,
      nonceStr: p.nonceStr,
      package: p.package,
      signType: p.signType,
      paySign: p.paySign,
      success: () => resolve(),
      fail: (err) =>
        reject(
          /cancel/.test(err.errMsg)
            ? new BanshiError(0, 'payment_cancelled', '已取消支付')
            : new BanshiError(0, 'payment_failed', `支付未完成（${err.errMsg}）`),
        ),
    })
  })
}

/** faceVerify runs WeChat's face verification for the verify_id Banshi started. */
export function faceVerify(verifyId: string): Promise<void> {
  if (simOpenid()) return simFace(verifyId)
  return new Promise((resolve, reject) => {
    const opts = {
      verifyId,
      success: () => resolve(),
      fail: (err: { errMsg: string }) => reject(new BanshiError(0, 'face_failed', `人脸核身未完成（${err.errMsg}）`)),
    }
    ;(wx as unknown as { startFacialRecognitionVerify(o: typeof opts): void }).startFacialRecognitionVerify(opts)
  })
}

/**
 * realnameConsentCode opens WeChat's real-name authorisation page (config realnameApp) and
 * resolves with the consent code it hands back in extraData.code when the citizen returns
 * (App onShow's referrerInfo); it rejects when the citizen comes back without one, or when no
 * page is configured.
 */
export function realnameConsentCode(): Promise<string> {
  const sim = simOpenid()
  if (sim) return simRealnameCode(sim)
  const app = realnameApp()
  if (!app.appId) return Promise.reject(new BanshiError(0, 'realname_not_configured', '暂未开通微信实名授权，请使用人脸核身'))
  const REALNAME_APPID = app.appId
  return new Promise((resolve, reject) => {
    const onShow: WechatMiniprogram.OnAppShowCallback = (opts) => {
      const info = (opts as { referrerInfo?: unknown }).referrerInfo as { appId?: string; extraData?: { code?: string } } | undefined
      if (!info || info.appId !== REALNAME_APPID) return
      wx.offAppShow(onShow as unknown as WechatMiniprogram.OffAppShowCallback)
      const code = info.extraData?.code
      if (code) resolve(code)
      else reject(new BanshiError(0, 'realname_consent_refused', '未完成微信实名授权'))
    }
    wx.onAppShow(onShow)
    wx.navigateToMiniProgram({
      appId: REALNAME_APPID,
      path: app.path,
      fail: (err) => {
        wx.offAppShow(onShow as unknown as WechatMiniprogram.OffAppShowCallback)
        reject(new BanshiError(0, 'realname_consent_failed', `无法打开微信实名授权（${err.errMsg}）`))
      },
    })
  })
}

/** location gives the phone's coordinates (GCJ-02), or null when the citizen refuses. */
export function location(): Promise<{ lat: number; lng: number } | null> {
  return new Promise((resolve) => {
    wx.getLocation({
      type: 'gcj02',
      success: (res) => resolve({ lat: res.latitude, lng: res.longitude }),
      fail: () => resolve(null),
    })
  })
}
