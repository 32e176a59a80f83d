/**
 * The app: nothing global beyond WeChat's App() — the API client (api/wx.ts) keeps its session
 * in wx storage, and pages read 长辈模式 from storage themselves.
 */
App({})
