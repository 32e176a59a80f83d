/**
 * Bills (查缴办): the bills departments issued to the ID number the citizen proved, amounts shown
 * from fen exactly. Paying creates an order at Banshi (channel wechat_jsapi, one Idempotency-Key
 * per bill and attempt), opens WeChat Pay's cashier with Banshi's pay_params, then opens the
 * order page, which follows the order until it is final.
 */
import { newIdempotencyKey } from '../../api/client'
import { api } from '../../api/wx'
import type { JSAPIPayParams } from '../../api/types'
import { billLabel } from '../../utils/labels'
import { yuan } from '../../utils/money'
import { baseData, definePage, dataset, enter, run } from '../../utils/page'
import { requestPayment } from '../../utils/wechat'

interface Row {
  billNo: string
  item: string
  unit: string
  amount: string
  lateFee: string
  due: string
  dueDate: string
  state: string
  stateText: string
  payable: boolean
  orderNo: string
}

definePage(
  { ...baseData(), rows: [] as Row[], loaded: false },
  {
    async onLoad() {
      enter(this)
      await this.load()
    },
    async load() {
      await run(this, async () => {
        const res = await api.bills()
        const rows: Row[] = res.bills.map((b) => ({
          billNo: b.bill_no,
          item: b.item,
          unit: b.collecting_unit.name,
          amount: yuan(b.amount_fen),
          lateFee: b.late_fee_fen ? yuan(b.late_fee_fen) : '',
          due: yuan(b.due_fen),
          dueDate: b.due_date,
          state: b.state,
          stateText: billLabel(b.state),
          payable: b.state === 'unpaid',
          orderNo: b.order_no ?? '',
        }))
        this.setData({ rows, loaded: true })
      })
    },
    async pay(e: WechatMiniprogram.BaseEvent) {
      const billNo = dataset(e, 'bill')
      await run(this, async () => {
        const order = await api.createOrder(billNo, 'wechat_jsapi', newIdempotencyKey(`pay-${billNo}`))
        const params = order.pay_params as JSAPIPayParams | undefined
        if (params && order.status === 'paying') await requestPayment(params)
        wx.navigateTo({ url: `/pages/order/order?order_no=${encodeURIComponent(order.order_no)}` })
      })
    },
    openOrder(e: WechatMiniprogram.BaseEvent) {
      wx.navigateTo({ url: `/pages/order/order?order_no=${encodeURIComponent(dataset(e, 'order'))}` })
    },
  },
)
