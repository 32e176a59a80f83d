/** One application's timeline: every step the department reported, with missing materials (一次性告知) and delivery. */
import { api } from '../../api/wx'
import { applicationLabel } from '../../utils/labels'
import { baseData, definePage, enter, run } from '../../utils/page'
import { dateTime } from '../../utils/time'

interface Step {
  text: string
  at: string
  note: string
  missing: string[]
  delivery: string
}

definePage(
  { ...baseData(), no: '', source: '', statusText: '', final: false, steps: [] as Step[] },
  {
    async onLoad(query: Record<string, string | undefined>) {
      enter(this)
      await run(this, async () => {
        const a = await api.application(query.no ?? '')
        this.setData({
          no: a.application_no,
          source: a.source,
          final: ['approved', 'rejected', 'delivered'].includes(a.status),
          statusText: applicationLabel(a.status),
          steps: a.timeline.map((e) => ({
            text: applicationLabel(e.status),
            at: dateTime(e.occurred_at),
            note: e.note ?? '',
            missing: (e.materials_missing ?? []).map((m) => (m.reason ? `${m.name}（${m.reason}）` : m.name)),
            delivery: e.delivery ? [e.delivery.carrier, e.delivery.tracking_no].filter(Boolean).join(' ') : '',
          })),
        })
      })
    },
    evaluate() {
      wx.navigateTo({
        url: `/pages/evaluate/evaluate?application_no=${encodeURIComponent(this.data.no)}&source=${encodeURIComponent(this.data.source)}`,
      })
    },
  },
)
