/**
 * The licence wallet (电子证照): the citizen's licences; 亮证 shows Banshi's signed show token as
 * a QR code that verifies for 60 s and once, so the page fetches a fresh one REFRESH_MS before
 * it expires for as long as it is shown, and stops when the citizen closes it or leaves.
 */
import { api } from '../../api/wx'
import type { LicenceView } from '../../api/types'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'
import { clock } from '../../utils/time'

/** A new QR is fetched this long before the shown one expires. */
export const REFRESH_BEFORE_MS = 10000

let timer: ReturnType<typeof setTimeout> | null = null

function stop(): void {
  if (timer) clearTimeout(timer)
  timer = null
}

definePage(
  {
    ...baseData(),
    rows: [] as { id: string; name: string; number: string; authority: string; usable: boolean }[],
    showing: '',
    qr: '',
    until: '',
    shown: 0,
    loaded: false,
  },
  {
    async onLoad() {
      enter(this)
      await run(this, async () => {
        const res = await api.licences()
        this.setData({
          rows: res.licences.map((l: LicenceView) => ({ id: l.id, name: l.name, number: l.number, authority: l.issuing_authority.name, usable: l.usable })),
          loaded: true,
        })
      })
    },
    onUnload() {
      stop()
    },
    onHide() {
      stop()
    },
    async show(e: WechatMiniprogram.BaseEvent) {
      stop()
      this.setData({ showing: dataset(e, 'id'), shown: 0 })
      await this.refresh()
    },
    /** refresh fetches a fresh show token and plans the next one before it expires. */
    async refresh() {
      const id = this.data.showing
      if (!id) return
      const ok = await run(this, async () => {
        const s = await api.showLicence(id)
        if (this.data.showing !== id) return
        this.setData({ qr: `data:image/png;base64,${s.qr_png}`, until: clock(s.expires_at), shown: this.data.shown + 1 })
        const wait = Math.max(1000, Date.parse(s.expires_at) - Date.now() - REFRESH_BEFORE_MS)
        timer = setTimeout(() => void this.refresh(), wait)
      })
      if (!ok) this.setData({ showing: '', qr: '' })
    },
    close() {
      stop()
      this.setData({ showing: '', qr: '' })
    },
  },
)
