/**
 * 长辈模式: larger text and controls, the habit of government mini-programs. The choice is kept
 * with wx.setStorageSync and every page reads it when it loads (class `elder` on its root).
 */
export const ELDER_KEY = 'banshi.elderMode'

/** elderMode tells whether 长辈模式 is on. */
export function elderMode(): boolean {
  return wx.getStorageSync(ELDER_KEY) === true
}

/** setElderMode turns 长辈模式 on or off. */
export function setElderMode(on: boolean): void {
  wx.setStorageSync(ELDER_KEY, on)
}
