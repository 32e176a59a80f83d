/**
 * 好差评: rate a finished application (query application_no and source) or a completed hall visit
 * (query appointment_id) on the five levels; a 差评 names at least one indicator of the subject's
 * set (Banshi refuses otherwise, in Chinese) and opens a rectification ticket whose state and
 * reply the list shows. Without a subject the page lists the citizen's evaluations.
 */
import { api } from '../../api/wx'
import type { EvaluationInput } from '../../api/types'
import { ticketLabel } from '../../utils/labels'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'

type Level = EvaluationInput['level']
type Indicator = NonNullable<EvaluationInput['indicators']>[number]

export const LEVELS: { value: Level; text: string }[] = [
  { value: 'very_satisfied', text: '非常满意' },
  { value: 'satisfied', text: '满意' },
  { value: 'basic', text: '基本满意' },
  { value: 'dissatisfied', text: '不满意' },
  { value: 'very_dissatisfied', text: '非常不满意' },
]

const ONLINE: { value: Indicator; text: string }[] = [
  { value: 'overall', text: '总体' },
  { value: 'efficiency', text: '办事效率' },
  { value: 'guide_accuracy', text: '指南准确' },
  { value: 'convenience', text: '便捷程度' },
  { value: 'ease_of_use', text: '易用性' },
]
const ONSITE: { value: Indicator; text: string }[] = [
  { value: 'overall', text: '总体' },
  { value: 'efficiency', text: '办事效率' },
  { value: 'competence', text: '业务能力' },
  { value: 'attitude', text: '服务态度' },
]

definePage(
  {
    ...baseData(),
    applicationNo: '',
    source: '',
    appointmentId: '',
    levels: LEVELS,
    indicators: [] as { value: Indicator; text: string; on: boolean }[],
    level: '' as Level | '',
    text: '',
    done: '',
    list: [] as { id: string; title: string; level: string; ticket: string }[],
  },
  {
    async onLoad(query: Record<string, string | undefined>) {
      enter(this)
      const applicationNo = query.application_no ?? ''
      const appointmentId = query.appointment_id ?? ''
      this.setData({
        applicationNo,
        source: query.source ?? '',
        appointmentId,
        indicators: (appointmentId ? ONSITE : ONLINE).map((i) => ({ ...i, on: false })),
      })
      if (!applicationNo && !appointmentId) await this.loadList()
    },
    async loadList() {
      await run(this, async () => {
        const res = await api.myEvaluations()
        this.setData({
          list: res.evaluations.map((e) => ({
            id: e.id,
            title: e.service_name ?? e.service_code,
            level: e.level_name,
            ticket: e.ticket ? `整改：${ticketLabel(e.ticket.state)}${e.ticket.reply ? `，答复：${e.ticket.reply}` : ''}` : '',
          })),
        })
      })
    },
    pickLevel(e: WechatMiniprogram.BaseEvent) {
      this.setData({ level: dataset(e, 'level') as Level })
    },
    toggle(e: WechatMiniprogram.BaseEvent) {
      const v = dataset(e, 'value')
      this.setData({ indicators: this.data.indicators.map((i) => (i.value === v ? { ...i, on: !i.on } : i)) })
    },
    onText(e: WechatMiniprogram.Input) {
      this.setData({ text: e.detail.value })
    },
    async submit() {
      const d = this.data
      const input: EvaluationInput = {
        subject: d.appointmentId ? { appointment_id: d.appointmentId } : { application_no: d.applicationNo, source: d.source || undefined },
        level: d.level as Level,
      }
      const on = d.indicators.filter((i) => i.on).map((i) => i.value)
      if (on.length) input.indicators = on
      if (d.text.trim()) input.text = d.text.trim()
      await run(this, async () => {
        const ev = await api.evaluate(input)
        this.setData({ done: ev.ticket ? `已提交：${ev.level_name}。部门将整改并答复您。` : `已提交：${ev.level_name}。感谢您的评价！` })
      })
    },
  },
)
