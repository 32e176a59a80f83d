/**
 * Real-name verification, level by level: declare name and ID number (L2); WeChat's real-name
 * authorisation gives a consent code Banshi checks (L3); face verification (L4). Banshi checks
 * the ID number (GB 11643) and refuses in Chinese; the page shows that message as it is.
 */
import { api } from '../../api/wx'
import type { User } from '../../api/types'
import { levelLabel } from '../../utils/labels'
import { baseData, definePage, enter, run } from '../../utils/page'
import { faceVerify, realnameConsentCode } from '../../utils/wechat'

definePage(
  { ...baseData(), name: '', idNumber: '', user: null as User | null, level: 0, levelText: '' },
  {
    async onLoad() {
      enter(this)
      await run(this, async () => {
        const me = await api.me()
        this.show(me.user)
      })
    },
    show(user: User) {
      this.setData({ user, level: user.realname_level, levelText: levelLabel(user.realname_level) })
    },
    onName(e: WechatMiniprogram.Input) {
      this.setData({ name: e.detail.value.trim() })
    },
    onIdNumber(e: WechatMiniprogram.Input) {
      this.setData({ idNumber: e.detail.value.trim().toUpperCase() })
    },
    async declare() {
      await run(this, async () => {
        const res = await api.declareIdentity(this.data.name, this.data.idNumber)
        this.show(res.user)
      })
    },
    async wechatCheck() {
      await run(this, async () => {
        const code = await realnameConsentCode()
        const res = await api.checkRealname(this.data.name, this.data.idNumber, code)
        this.show(res.user)
      })
    },
    async face() {
      await run(this, async () => {
        const { verify_id } = await api.startFace(this.data.name, this.data.idNumber)
        await faceVerify(verify_id)
        const res = await api.finishFace(verify_id)
        this.show(res.user)
      })
    },
  },
)
