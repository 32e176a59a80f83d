/**
 * Home: who the citizen is (level), their favourite services, the halls (nearest first when
 * the phone gives its location; Banshi gives each hall's coordinates), and the ways in.
 * A citizen without a session sees the halls and a login button.
 */
import { api } from '../../api/wx'
import type { ServiceItem } from '../../api/types'
import { levelLabel } from '../../utils/labels'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'
import { distanceKm } from '../../utils/time'
import { location } from '../../utils/wechat'

interface HallRow {
  id: string
  name: string
  address: string
  distance: string
}

definePage(
  {
    ...baseData(),
    loggedIn: false,
    levelText: '',
    unread: 0,
    halls: [] as HallRow[],
    favorites: [] as { id: string; name: string }[],
  },
  {
    async onLoad() {
      enter(this)
      await this.load()
    },
    async onPullDownRefresh() {
      await this.load()
      wx.stopPullDownRefresh()
    },
    async load() {
      await run(this, async () => {
        const [halls, here] = await Promise.all([api.halls(), location()])
        const rows = halls.halls.map((h) => ({
          id: h.id,
          name: h.name,
          address: h.address,
          km: here ? distanceKm(here, h.location) : -1,
        }))
        if (here) rows.sort((a, b) => a.km - b.km)
        this.setData({ halls: rows.map((r) => ({ id: r.id, name: r.name, address: r.address, distance: r.km >= 0 ? `${r.km} km` : '' })) })
        if (!api.hasSession()) return
        const me = await api.me()
        this.setData({ loggedIn: true, levelText: levelLabel(me.user.realname_level), unread: me.unread_messages })
        const codes = me.sections.favorites
        if (codes.length) {
          const lists = await Promise.all(halls.halls.map((h) => api.hallServices(h.id)))
          const byCode = new Map<string, ServiceItem>()
          for (const l of lists) for (const s of l.services) if (!byCode.has(s.code)) byCode.set(s.code, s)
          this.setData({
            favorites: codes.map((c) => byCode.get(c)).filter((s): s is ServiceItem => !!s).map((s) => ({ id: s.id, name: s.name })),
          })
        }
      })
    },
    go(e: WechatMiniprogram.BaseEvent) {
      wx.navigateTo({ url: dataset(e, 'url') })
    },
    openService(e: WechatMiniprogram.BaseEvent) {
      wx.navigateTo({ url: `/pages/service/service?id=${encodeURIComponent(dataset(e, 'id'))}` })
    },
    openHall(e: WechatMiniprogram.BaseEvent) {
      wx.navigateTo({ url: `/pages/booking/booking?hall=${encodeURIComponent(dataset(e, 'id'))}` })
    },
  },
)
