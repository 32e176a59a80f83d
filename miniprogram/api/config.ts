/**
 * Where the mini-program finds Banshi. The development default is a local
 * `go run ./cmd/banshi` (WeChat DevTools with 「不校验合法域名」 on); a release build sets
 * RELEASE_BASE_URL to the province's HTTPS domain (registered as a request domain in WeChat's
 * console). A value stored under BASE_URL_KEY (settings page, tests) wins over both.
 */
export const DEVELOPMENT_BASE_URL = 'http://127.0.0.1:8080'
export const RELEASE_BASE_URL = ''
export const BASE_URL_KEY = 'banshi.baseURL'
export const TOKEN_KEY = 'banshi.token'

/** baseURL gives the base URL in force now. */
export function baseURL(): string {
  const stored = wx.getStorageSync(BASE_URL_KEY)
  if (typeof stored === 'string' && stored !== '') return stored
  return RELEASE_BASE_URL || DEVELOPMENT_BASE_URL
}

/** setBaseURL stores an override ('' goes back to the default). */
export function setBaseURL(url: string): void {
  wx.setStorageSync(BASE_URL_KEY, url.trim())
}

/**
 * WeChat's real-name authorisation page (实名信息授权) that hands out the consent codes of
 * checkrealnameinfo: its app id and path come with the permission WeChat grants the province's
 * mini-program, so they are empty here and set at deployment (or stored under REALNAME_APP_KEY
 * as {"appId","path"}, as the tests do). Empty: the page offers face verification instead.
 */
export const REALNAME_APPID = ''
export const REALNAME_PATH = ''
export const REALNAME_APP_KEY = 'banshi.realnameApp'

/** realnameApp gives the real-name authorisation page in force. */
export function realnameApp(): { appId: string; path: string } {
  const stored = wx.getStorageSync(REALNAME_APP_KEY) as { appId?: unknown; path?: unknown } | ''
  if (stored && typeof stored.appId === 'string' && stored.appId !== '') {
    return { appId: stored.appId, path: typeof stored.path === 'string' ? stored.path : '' }
  }
  return { appId: REALNAME_APPID, path: REALNAME_PATH }
}
