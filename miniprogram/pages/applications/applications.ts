/** Applications (办件进度): those reported for the ID number the citizen proved, with their last step. */
import { api } from '../../api/wx'
import { applicationLabel } from '../../utils/labels'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'
import { dateTime } from '../../utils/time'

definePage(
  { ...baseData(), rows: [] as { no: string; status: string; statusText: string; at: string }[], loaded: false },
  {
    async onLoad() {
      enter(this)
      await run(this, async () => {
        const res = await api.applications()
        this.setData({
          rows: res.applications.map((a) => ({ no: a.application_no, status: a.status, statusText: applicationLabel(a.status), at: dateTime(a.updated_at) })),
          loaded: true,
        })
      })
    },
    open(e: WechatMiniprogram.BaseEvent) {
      wx.navigateTo({ url: `/pages/application/application?no=${encodeURIComponent(dataset(e, 'no'))}` })
    },
  },
)
