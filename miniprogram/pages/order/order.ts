/**
 * The order page: follows one payment order at Banshi until it is final (handled: the
 * department accepted; refunded: it refused and Banshi refunded), polling every POLL_MS for at
 * most POLL_LIMIT times, then leaving a refresh button. The payment's outcome is Banshi's, never
 * wx.requestPayment's own success (WeChat's callback to Banshi is the authority).
 */
import { api } from '../../api/wx'
import { FINAL_ORDER_STATES, type Order } from '../../api/types'
import { orderLabel } from '../../utils/labels'
import { yuan } from '../../utils/money'
import { baseData, definePage, enter, run } from '../../utils/page'
import { dateTime } from '../../utils/time'

export const POLL_MS = 1000
export const POLL_LIMIT = 60

definePage(
  {
    ...baseData(),
    orderNo: '',
    status: '',
    statusText: '',
    amount: '',
    refunded: '',
    final: false,
    polling: false,
    steps: [] as { text: string; at: string }[],
  },
  {
    async onLoad(query: Record<string, string | undefined>) {
      enter(this)
      this.setData({ orderNo: query.order_no ?? '' })
      await this.follow()
    },
    onUnload() {
      this.setData({ polling: false })
    },
    show(o: Order) {
      this.setData({
        status: o.status,
        statusText: orderLabel(o.status),
        amount: yuan(o.amount_fen),
        refunded: o.refunded_fen ? yuan(o.refunded_fen) : '',
        final: FINAL_ORDER_STATES.includes(o.status),
        steps: o.transitions.map((t) => ({ text: orderLabel(t.to), at: dateTime(t.at) })),
      })
    },
    /** follow polls until the order is final, the page is left, or POLL_LIMIT is reached. */
    async follow() {
      this.setData({ polling: true })
      for (let i = 0; i < POLL_LIMIT && this.data.polling; i++) {
        const ok = await run(this, async () => this.show(await api.order(this.data.orderNo)))
        if (!ok || this.data.final) break
        await new Promise((r) => setTimeout(r, POLL_MS))
      }
      this.setData({ polling: false })
    },
    async refresh() {
      await this.follow()
    },
  },
)
