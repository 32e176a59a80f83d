/**
 * My appointments: each with its state, time, queue number and the check-in QR payload that
 * hall staff scan on the day (at that hall only); a booked one can be cancelled (Banshi allows
 * it up to 2 hours before the start and answers in Chinese otherwise).
 */
import { api } from '../../api/wx'
import { appointmentLabel } from '../../utils/labels'
import { baseData, definePage, dataset, enter, run } from '../../utils/page'
import { qrDataURL } from '../../utils/qr'
import { clock } from '../../utils/time'

interface Row {
  id: string
  title: string
  when: string
  status: string
  statusText: string
  queue: string
  checkinCode: string
  checkinQr: string
  qrImage: string
  cancellable: boolean
}

definePage(
  { ...baseData(), rows: [] as Row[], loaded: false },
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
        const res = await api.myAppointments()
        const rows: Row[] = res.appointments.map((a) => ({
          id: a.id,
          title: `${a.service_name}（${a.hall_name} · ${a.department_name}）`,
          when: `${a.date} ${clock(a.slot.start)}–${clock(a.slot.end)}`,
          status: a.status,
          statusText: appointmentLabel(a.status),
          queue: a.queue_number ?? '',
          checkinCode: a.checkin_code,
          checkinQr: a.checkin_qr,
          qrImage: a.status === 'booked' ? qrDataURL(a.checkin_qr) : '',
          cancellable: a.status === 'booked',
        }))
        this.setData({ rows, loaded: true })
      })
    },
    async cancel(e: WechatMiniprogram.BaseEvent) {
      const id = dataset(e, 'id')
      const answer = await wx.showModal({ title: '取消预约', content: '确定取消这次预约吗？取消后名额立即释放。' })
      if (!answer.confirm) return
      if (await run(this, async () => void (await api.cancelAppointment(id)))) await this.load()
    },
  },
)
