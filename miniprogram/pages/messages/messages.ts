/** Messages: the citizen's inbox (newest first, paged by Banshi's cursor); tapping one marks it read. */
import { api } from '../../api/wx'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'
import { dateTime } from '../../utils/time'

interface Row {
  id: string
  title: string
  body: string
  at: string
  unread: boolean
}

definePage(
  { ...baseData(), rows: [] as Row[], next: '', loaded: false },
  {
    async onLoad() {
      enter(this)
      await this.load(true)
    },
    async onPullDownRefresh() {
      await this.load(true)
      wx.stopPullDownRefresh()
    },
    async onReachBottom() {
      if (this.data.next) await this.load(false)
    },
    async load(first: boolean) {
      await run(this, async () => {
        const page = await api.messages(first ? undefined : this.data.next)
        const rows = page.messages.map((m) => ({ id: m.id, title: m.title, body: m.body, at: dateTime(m.created_at), unread: !m.read_at }))
        this.setData({ rows: first ? rows : [...this.data.rows, ...rows], next: page.next ?? '', loaded: true })
      })
    },
    async read(e: WechatMiniprogram.BaseEvent) {
      const id = dataset(e, 'id')
      const i = this.data.rows.findIndex((r) => r.id === id)
      if (i < 0 || !this.data.rows[i].unread) return
      await run(this, async () => {
        await api.markRead(id)
        this.setData({ rows: this.data.rows.map((r) => (r.id === id ? { ...r, unread: false } : r)) })
      })
    },
  },
)
