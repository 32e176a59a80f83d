/**
 * Booking (政务服务预约): hall → service → date → slot → confirm. Confirming first asks
 * wx.requestSubscribeMessage for the booking templates Banshi lists (inside the tap, as WeChat
 * requires), then books with an Idempotency-Key (a retried tap never books twice), then records
 * the citizen's answers at Banshi. Query `hall` and `service` preselect (from the service guide).
 */
import { newIdempotencyKey } from '../../api/client'
import { api } from '../../api/wx'
import type { Appointment, Hall, ServiceItem } from '../../api/types'
import { acting } from '../../utils/acting'
import { BOOKING_EVENTS, templatesFor } from '../../utils/subscribe'
import { clock } from '../../utils/time'
import { baseData, definePage, dataset, enter, run } from '../../utils/page'
import { requestSubscribe } from '../../utils/wechat'

interface SlotRow {
  id: string
  text: string
  remaining: number
}

definePage(
  {
    ...baseData(),
    halls: [] as Hall[],
    hallId: '',
    services: [] as ServiceItem[],
    serviceId: '',
    dates: [] as { date: string; remaining: number }[],
    date: '',
    slots: [] as SlotRow[],
    slotId: '',
    tmplIds: [] as string[],
    subscribed: '',
    actingUscc: '',
    actingName: '',
    booked: null as Appointment | null,
    bookedText: '',
  },
  {
    async onLoad(query: Record<string, string | undefined>) {
      enter(this)
      const a = acting()
      this.setData({ actingUscc: a?.uscc ?? '', actingName: a?.name ?? '' })
      await run(this, async () => {
        const [halls, templates] = await Promise.all([api.halls(), api.notifyTemplates()])
        this.setData({ halls: halls.halls, tmplIds: templatesFor(templates, BOOKING_EVENTS) })
      })
      if (query.hall) await this.loadServices(query.hall)
      if (query.hall && query.service) await this.loadDates(query.service)
    },
    async pickHall(e: WechatMiniprogram.BaseEvent) {
      await this.loadServices(dataset(e, 'id'))
    },
    async loadServices(hallId: string) {
      this.setData({ hallId, services: [], serviceId: '', dates: [], date: '', slots: [], slotId: '' })
      await run(this, async () => {
        const res = await api.hallServices(hallId)
        this.setData({ services: res.services })
      })
    },
    async pickService(e: WechatMiniprogram.BaseEvent) {
      await this.loadDates(dataset(e, 'id'))
    },
    async loadDates(serviceId: string) {
      this.setData({ serviceId, dates: [], date: '', slots: [], slotId: '' })
      await run(this, async () => {
        const res = await api.availableDates(this.data.hallId, serviceId)
        this.setData({ dates: res.dates })
      })
    },
    async pickDate(e: WechatMiniprogram.BaseEvent) {
      const date = dataset(e, 'date')
      this.setData({ date, slots: [], slotId: '' })
      await run(this, async () => {
        const res = await api.daySlots(this.data.hallId, this.data.serviceId, date)
        this.setData({
          slots: res.slots.map((s) => ({ id: s.id, text: `${clock(s.start)}–${clock(s.end)}`, remaining: s.remaining })),
        })
      })
    },
    pickSlot(e: WechatMiniprogram.BaseEvent) {
      this.setData({ slotId: dataset(e, 'id') })
    },
    async confirm() {
      const tmplIds = this.data.tmplIds
      // Asked first, inside the tap: WeChat shows the popup only for a user gesture.
      const answers = tmplIds.length ? requestSubscribe(tmplIds).catch(() => null) : Promise.resolve(null)
      await run(this, async () => {
        const appt = await api.book(this.data.slotId, this.data.serviceId, newIdempotencyKey('book'), this.data.actingUscc || undefined)
        this.setData({
          booked: appt,
          bookedText: `${appt.hall_name} · ${appt.service_name} · ${appt.date} ${clock(appt.slot.start)}–${clock(appt.slot.end)}`,
        })
        const result = await answers
        if (result) {
          const subs = await api.recordSubscriptions(result)
          const accepted = subs.subscriptions.filter((s) => s.result === 'accept').length
          this.setData({ subscribed: accepted ? `已开启 ${accepted} 项微信提醒` : '未开启微信提醒' })
        }
      })
    },
    toAppointments() {
      wx.redirectTo({ url: '/pages/appointments/appointments' })
    },
  },
)
