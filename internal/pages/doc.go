// Package pages keeps the personal pages of Banshi in MongoDB: the citizen's
// page (市民个人网页: favourite services and the sections later features fill)
// and, later, the enterprise page (企业专属网页).
package pages
