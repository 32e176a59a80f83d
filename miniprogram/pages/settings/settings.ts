/**
 * Settings: 长辈模式 (kept with wx.setStorageSync), the server address (development only),
 * a copy of my data (PIPL art. 45) and deleting my account (art. 47) — both need a fresh
 * WeChat real-name consent obtained for that request — and logging out.
 */
import { baseURL, setBaseURL } from '../../api/config'
import { api } from '../../api/wx'
import { SIM_OPENID_KEY, simOpenid } from '../../utils/devphone'
import { elderMode, setElderMode } from '../../utils/elder'
import { baseData, definePage, enter, run } from '../../utils/page'
import { realnameConsentCode } from '../../utils/wechat'

definePage(
  { ...baseData(), server: '', simOpenid: '', exported: '', deleted: '' },
  {
    onLoad() {
      enter(this)
      this.setData({ server: baseURL(), simOpenid: simOpenid() })
    },
    onSimOpenid(e: WechatMiniprogram.Input) {
      this.setData({ simOpenid: e.detail.value.trim() })
    },
    async saveSimOpenid() {
      wx.setStorageSync(SIM_OPENID_KEY, this.data.simOpenid)
      await run(this, async () => {
        await api.logout()
        await api.login()
      })
    },
    toggleElder(e: WechatMiniprogram.SwitchChange) {
      setElderMode(e.detail.value)
      this.setData({ elder: elderMode() })
    },
    onServer(e: WechatMiniprogram.Input) {
      this.setData({ server: e.detail.value })
    },
    saveServer() {
      setBaseURL(this.data.server)
      this.setData({ server: baseURL() })
    },
    async exportData() {
      await run(this, async () => {
        const pkg = await api.exportMyData(await realnameConsentCode())
        const text = JSON.stringify(pkg, null, 2)
        wx.setClipboardData({ data: text })
        this.setData({ exported: `已导出 ${text.length} 个字符，已复制到剪贴板` })
      })
    },
    async deleteAccount() {
      const answer = await wx.showModal({ title: '注销账号', content: '将删除您在本平台的个人信息，且无法恢复。确定继续吗？', confirmColor: '#fa5151' })
      if (!answer.confirm) return
      await run(this, async () => {
        await api.deleteMe(await realnameConsentCode())
        this.setData({ deleted: '账号已注销' })
      })
    },
    async logout() {
      await run(this, async () => {
        await api.logout()
        wx.reLaunch({ url: '/pages/index/index' })
      })
    },
  },
)
