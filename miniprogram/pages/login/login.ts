/**
 * Login: wx.login's code is exchanged at Banshi for a session (first login creates the account
 * at level 1). Then the citizen goes on to real-name verification or back home.
 */
import { api } from '../../api/wx'
import type { User } from '../../api/types'
import { levelLabel } from '../../utils/labels'
import { baseData, definePage, enter, run } from '../../utils/page'

definePage(
  { ...baseData(), user: null as User | null, levelText: '' },
  {
    onLoad() {
      enter(this)
    },
    async login() {
      await run(this, async () => {
        const res = await api.login()
        this.setData({ user: res.user, levelText: levelLabel(res.user.realname_level) })
      })
    },
    toRealname() {
      wx.navigateTo({ url: '/pages/realname/realname' })
    },
    toHome() {
      wx.reLaunch({ url: '/pages/index/index' })
    },
  },
)
