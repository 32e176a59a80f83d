/**
 * The enterprise switch and page (企业专属网页): the enterprises the citizen represents (legal
 * representative, administrator, agent); choosing one makes the mini-program act for it
 * (bookings on its behalf) and shows its page: the registry record, the citizen's role, the
 * company's applications, bills, appointments and the policies that match it.
 */
import { api } from '../../api/wx'
import type { EnterprisePage } from '../../api/types'
import { acting, setActing } from '../../utils/acting'
import { baseData, dataset, definePage, enter, run } from '../../utils/page'

const roles: Record<string, string> = { legal_representative: '法定代表人', administrator: '管理员', agent: '经办人' }

definePage(
  {
    ...baseData(),
    rows: [] as { uscc: string; name: string; role: string }[],
    actingUscc: '',
    page: null as EnterprisePage | null,
    roleText: '',
    counts: '',
    loaded: false,
    claimUscc: '',
  },
  {
    async onLoad() {
      enter(this)
      await this.load()
      const a = acting()
      if (a) await this.open(a.uscc)
    },
    async load() {
      await run(this, async () => {
        const res = await api.myEnterprises()
        this.setData({ rows: res.enterprises.map((e) => ({ uscc: e.uscc, name: e.name, role: roles[e.role] ?? e.role })), loaded: true })
      })
    },
    onClaimUscc(e: WechatMiniprogram.Input) {
      this.setData({ claimUscc: e.detail.value.trim().toUpperCase() })
    },
    async claim() {
      if (await run(this, async () => void (await api.claimEnterprise(this.data.claimUscc)))) await this.load()
    },
    async choose(e: WechatMiniprogram.BaseEvent) {
      const uscc = dataset(e, 'uscc')
      const row = this.data.rows.find((r) => r.uscc === uscc)
      if (!row) return
      setActing({ uscc, name: row.name })
      await this.open(uscc)
    },
    async open(uscc: string) {
      this.setData({ actingUscc: uscc })
      await run(this, async () => {
        const p = await api.enterprisePage(uscc)
        const s = p.sections
        this.setData({
          page: p,
          roleText: roles[p.viewer.role] ?? p.viewer.role,
          counts: `办件 ${s.applications.length} · 缴费单 ${s.bills.length} · 预约 ${s.appointments.length} · 惠企政策 ${p.policies.length}`,
        })
      })
    },
    asMyself() {
      setActing(null)
      this.setData({ actingUscc: '', page: null })
    },
  },
)
