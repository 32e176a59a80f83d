/**
 * What every page shares: the 长辈模式 flag and the error line. A failure is shown with
 * Banshi's Chinese message (never a code or a stack), in the page's `.error` line and a toast.
 */
import { messageOf } from '../api/errors'
import { elderMode } from './elder'

/** The part of a page instance these helpers use. */
export interface PageLike {
  setData(data: Record<string, unknown>): void
}

/** baseData is every page's initial data (elder is read again when the page loads). */
export function baseData(): { elder: boolean; error: string; busy: boolean } {
  return { elder: false, error: '', busy: false }
}

/** enter sets the page's 长辈模式 flag and clears an old error; call it in onLoad/onShow. */
export function enter(page: PageLike): void {
  page.setData({ elder: elderMode(), error: '' })
}

/** showError shows a failure's Chinese message. */
export function showError(page: PageLike, err: unknown): void {
  const message = messageOf(err)
  page.setData({ error: message, busy: false })
  wx.showToast({ title: message, icon: 'none', duration: 3000 })
}

/**
 * run marks the page busy, runs the action and shows its failure; it resolves either way (a
 * page handler never leaves a rejected promise behind) and tells whether the action succeeded.
 */
export async function run(page: PageLike, action: () => Promise<void>): Promise<boolean> {
  page.setData({ busy: true, error: '' })
  try {
    await action()
    page.setData({ busy: false })
    return true
  } catch (err) {
    showError(page, err)
    return false
  }
}

/** dataset reads a data-* attribute of the tapped element. */
export function dataset(e: WechatMiniprogram.BaseEvent, key: string): string {
  const v = (e.currentTarget.dataset as Record<string, unknown>)[key]
  return v === undefined || v === null ? '' : String(v)
}

/** PageThis is what a page's methods see as `this`: its data and setData. */
export interface PageThis<D> {
  data: D
  setData(data: Partial<D> & Record<string, unknown>): void
}

/**
 * definePage registers a page built with the Component constructor (WeChat's recommended way;
 * miniprogram-simulate renders it in the tests), with its lifecycle (onLoad, onUnload, …) and
 * handlers in `methods`, typed: `this` is the page's data, setData and methods.
 */
export function definePage<D extends Record<string, unknown>, M extends Record<string, (...args: any[]) => any>>(
  data: D,
  methods: M & ThisType<PageThis<D> & M>,
): void {
  Component({ data, methods } as unknown as WechatMiniprogram.Component.TrivialOption)
}
