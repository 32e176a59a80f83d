/**
 * Which identity the citizen acts as (the enterprise switch): themself, or an enterprise they
 * represent (by USCC). Kept with wx.setStorageSync; the booking page books on the enterprise's
 * behalf (on_behalf_of) while one is chosen.
 */
export const ACTING_KEY = 'banshi.actingEnterprise'

export interface Acting {
  uscc: string
  name: string
}

/** acting gives the enterprise chosen, or null when the citizen acts as themself. */
export function acting(): Acting | null {
  const v = wx.getStorageSync(ACTING_KEY) as Partial<Acting> | ''
  return v && typeof v.uscc === 'string' && v.uscc ? { uscc: v.uscc, name: String(v.name ?? '') } : null
}

/** setActing chooses an enterprise (null: act as oneself again). */
export function setActing(a: Acting | null): void {
  if (a) wx.setStorageSync(ACTING_KEY, a)
  else wx.removeStorageSync(ACTING_KEY)
}
