/** The service guide (办事指南) of one service item: conditions, materials, steps, time limit, fee; then book it. */
import { api } from '../../api/wx'
import type { ServiceItem } from '../../api/types'
import { yuan } from '../../utils/money'
import { baseData, definePage, enter, run } from '../../utils/page'

definePage(
  { ...baseData(), service: null as ServiceItem | null, fee: '' },
  {
    async onLoad(query: Record<string, string | undefined>) {
      enter(this)
      await run(this, async () => {
        const s = await api.service(query.id ?? '')
        this.setData({ service: s, fee: s.guide.fee_fen ? `¥${yuan(s.guide.fee_fen)}` : '不收费' })
        wx.setNavigationBarTitle({ title: s.name })
      })
    },
    book() {
      const s = this.data.service
      if (s) wx.navigateTo({ url: `/pages/booking/booking?hall=${encodeURIComponent(s.hall_id)}&service=${encodeURIComponent(s.id)}` })
    },
  },
)
