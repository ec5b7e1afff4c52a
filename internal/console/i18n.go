package console

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
)

// messages is the console's catalog: Vietnamese first, English second.
var messages = map[string][2]string{
	"app":                        {"Liên thông · Bảng điều hành", "Liên thông · Operator console"},
	"nav.dossiers":               {"Hồ sơ", "Dossiers"},
	"nav.overdue":                {"Trễ hạn", "Overdue"},
	"nav.stats":                  {"Tỷ lệ đúng hạn", "On-time rates"},
	"nav.dlq":                    {"Sự kiện giao lỗi", "Dead letters"},
	"nav.health":                 {"Tình trạng", "Health"},
	"nav.logout":                 {"Đăng xuất", "Sign out"},
	"lang.switch":                {"English", "Tiếng Việt"},
	"login.title":                {"Đăng nhập", "Sign in"},
	"login.token":                {"Mã truy cập (token) của cơ quan hoặc quản trị", "Agency or admin token"},
	"login.submit":               {"Đăng nhập", "Sign in"},
	"login.bad":                  {"Mã truy cập không hợp lệ.", "That token is not valid."},
	"login.hint":                 {"Dùng cùng mã truy cập với API. Phiên đăng nhập hết hạn sau 30 phút không dùng.", "Use the same token as the API. A session ends after 30 minutes unused."},
	"search.code":                {"Tìm theo mã hồ sơ", "Search by dossier code"},
	"search.go":                  {"Tìm", "Search"},
	"filter":                     {"Lọc", "Filter"},
	"filter.status":              {"Trạng thái", "Status"},
	"filter.agency":              {"Cơ quan", "Agency"},
	"filter.procedure":           {"Thủ tục", "Procedure"},
	"filter.overdue":             {"Trễ hạn", "Overdue"},
	"filter.from":                {"Tiếp nhận từ ngày", "Received from"},
	"filter.to":                  {"đến trước ngày", "received before"},
	"filter.limit":               {"Số dòng", "Rows"},
	"any":                        {"Tất cả", "Any"},
	"yes":                        {"Có", "Yes"},
	"no":                         {"Không", "No"},
	"col.code":                   {"Mã hồ sơ", "Code"},
	"col.procedure":              {"Thủ tục", "Procedure"},
	"col.receiver":               {"Nơi tiếp nhận", "Receiver"},
	"col.status":                 {"Trạng thái", "Status"},
	"col.received":               {"Tiếp nhận", "Received"},
	"col.due":                    {"Hẹn trả", "Due"},
	"col.left":                   {"Thời gian còn lại (giờ làm việc)", "Time left (working time)"},
	"col.holder":                 {"Đang xử lý", "Held by"},
	"col.agency":                 {"Cơ quan", "Agency"},
	"col.step":                   {"Bước", "Step"},
	"col.handed":                 {"Giao hồ sơ", "Handed over"},
	"col.got":                    {"Nhận hồ sơ", "Received"},
	"col.result":                 {"Kết quả", "Result"},
	"col.notes":                  {"Ghi chú", "Notes"},
	"col.time":                   {"Thời điểm", "Time"},
	"col.event":                  {"Sự kiện", "Event"},
	"col.source":                 {"Nguồn", "Source"},
	"col.to":                     {"Gửi tới", "To"},
	"col.error":                  {"Lỗi", "Error"},
	"col.attempts":               {"Số lần gửi", "Attempts"},
	"col.laststatus":             {"Mã HTTP cuối", "Last status"},
	"col.failed":                 {"Thời điểm lỗi", "Failed at"},
	"col.dossier":                {"Hồ sơ", "Dossier"},
	"col.type":                   {"Loại", "Type"},
	"list.count":                 {"%d hồ sơ", "%d dossiers"},
	"list.next":                  {"Trang sau →", "Next page →"},
	"list.first":                 {"← Trang đầu", "← First page"},
	"list.empty":                 {"Không có hồ sơ nào.", "No dossiers."},
	"overdue.badge":              {"trễ hạn", "overdue"},
	"dossier.title":              {"Hồ sơ %s", "Dossier %s"},
	"dossier.route":              {"Quy trình liên thông", "Route"},
	"dossier.slip":               {"Phiếu kiểm soát quá trình giải quyết hồ sơ", "Process-control slip"},
	"dossier.timeline":           {"Nhật ký", "Timeline"},
	"dossier.documents":          {"Tài liệu", "Documents"},
	"dossier.nodocs":             {"Kho theo dõi không lưu tài liệu (dữ liệu cá nhân); tài liệu đi kèm các sự kiện gửi tới cơ quan.", "The tracking store keeps no documents (personal data); they travel with the events delivered to the agencies."},
	"dossier.portal":             {"mã Cổng DVC", "portal code"},
	"dossier.paused":             {"Đang chờ bổ sung từ %s: thời hạn tạm dừng.", "Awaiting a supplement since %s: the clock is stopped."},
	"step.pending":               {"Chờ", "Pending"},
	"step.in_progress":           {"Đang xử lý", "In progress"},
	"step.completed":             {"Hoàn thành", "Completed"},
	"step.late":                  {"Trễ hạn", "Late"},
	"step.cancelled":             {"Đã hủy", "Cancelled"},
	"step.rejected":              {"Từ chối giải quyết", "Refused"},
	"result.early":               {"Trước hạn", "Before the deadline"},
	"result.ontime":              {"Đúng hạn", "On time"},
	"result.late":                {"Trễ hạn", "Late"},
	"note.supplement":            {"Yêu cầu bổ sung lúc %s", "Supplement requested at %s"},
	"note.supplemented":          {"Đã bổ sung lúc %s", "Supplemented at %s"},
	"note.rejected":              {"Từ chối lúc %s", "Rejected at %s"},
	"note.overdue":               {"Đã gửi thông báo trễ hạn", "Overdue notice sent"},
	"note.cancelled":             {"Dừng vì hồ sơ kết thúc", "Stopped: the dossier ended"},
	"note.paid":                  {"Đã hoàn thành nghĩa vụ tài chính lúc %s", "Financial obligation paid at %s"},
	"dossier.firstdue":           {"Hẹn trả ban đầu", "First appointment"},
	"dossier.supplementdue":      {"Hạn bổ sung", "Supplement due"},
	"dossier.obligation":         {"Nghĩa vụ tài chính", "Financial obligation"},
	"obligation.line":            {"thông báo %s, %d đồng, %s", "notice %s, %d VND, %s"},
	"obligation.paid":            {"đã nộp lúc %s", "paid at %s"},
	"obligation.unpaid":          {"chưa nộp, hạn %s", "not paid yet, due %s"},
	"status.registered":          {"Mới đăng ký (trực tuyến)", "Registered online"},
	"status.refused":             {"Từ chối tiếp nhận", "Refused at reception"},
	"status.awaiting_payment":    {"Chờ thực hiện nghĩa vụ tài chính", "Awaiting payment"},
	"status.received":            {"Đã tiếp nhận", "Received"},
	"status.processing":          {"Đang giải quyết", "Being processed"},
	"status.awaiting_supplement": {"Chờ bổ sung", "Awaiting supplement"},
	"status.rejected":            {"Dừng xử lý", "Rejected"},
	"status.withdrawn":           {"Rút hồ sơ", "Withdrawn"},
	"status.result_ready":        {"Đã có kết quả", "Result ready"},
	"status.returned":            {"Đã trả kết quả", "Result returned"},
	"span.dh":                    {"%d ngày %d giờ", "%d d %d h"},
	"span.hm":                    {"%d giờ %d phút", "%d h %d min"},
	"span.m":                     {"%d phút", "%d min"},
	"span.late":                  {"quá %s", "%s late"},
	"overdue.intro":              {"Hồ sơ đã trễ hạn hoặc đến hạn trong một ngày làm việc, theo cơ quan đang xử lý, cũ nhất trước.", "Dossiers late or due within one working day, per agency holding them, oldest first."},
	"overdue.none":               {"Không có hồ sơ trễ hạn hay sắp đến hạn.", "Nothing is late or due soon."},
	"overdue.truncated":          {"Chỉ hiện %d hồ sơ đầu tiên.", "Only the first %d dossiers are shown."},
	"stats.period":               {"Hồ sơ tiếp nhận từ ngày … đến trước ngày …", "Dossiers received from … to before …"},
	"stats.show":                 {"Xem", "Show"},
	"stats.byagency":             {"Theo nơi tiếp nhận", "Per receiving agency"},
	"stats.bysteps":              {"Theo cơ quan xử lý (các bước)", "Per agency doing steps"},
	"stats.byprocedure":          {"Theo thủ tục", "Per procedure"},
	"stats.received":             {"Tiếp nhận", "Received"},
	"stats.completed":            {"Đã giải quyết", "Completed"},
	"stats.ontime":               {"Đúng hạn", "On time"},
	"stats.late":                 {"Trễ hạn", "Late"},
	"stats.open":                 {"Đang giải quyết", "In progress"},
	"stats.overdue":              {"Đang trễ", "Overdue now"},
	"stats.rate":                 {"Tỷ lệ đúng hạn", "On-time rate"},
	"stats.empty":                {"Không có hồ sơ trong kỳ.", "No dossiers in the period."},
	"stats.note":                 {"Trước hạn / đúng hạn không tách được từ số liệu tổng hợp: cả hai tính là đúng hạn.", "Early and on time are not told apart in the aggregate: both count as on time."},
	"dlq.intro":                  {"Sự kiện không giao được tới cơ quan. Gửi lại sẽ đưa sự kiện về cuối hộp thư của cơ quan.", "Events that could not be delivered. A replay puts the event back at the end of the agency's inbox."},
	"dlq.replay":                 {"Gửi lại các mục đã chọn…", "Replay selected…"},
	"dlq.replayall":              {"Gửi lại tất cả của cơ quan…", "Replay all of the agency…"},
	"dlq.confirm":                {"Xác nhận gửi lại", "Confirm the replay"},
	"dlq.confirmtext":            {"Các sự kiện sau sẽ được gửi lại:", "These events will be sent again:"},
	"dlq.go":                     {"Gửi lại", "Replay"},
	"dlq.cancel":                 {"Hủy", "Cancel"},
	"dlq.done":                   {"Đã gửi lại", "Replayed"},
	"dlq.donetext":               {"Đã đưa %d sự kiện về hộp thư.", "%d events were put back in the inboxes."},
	"dlq.none":                   {"Chưa chọn mục nào (hoặc các mục đã được gửi lại).", "Nothing selected (or it was already replayed)."},
	"dlq.empty":                  {"Không có sự kiện giao lỗi.", "No dead letters."},
	"dlq.back":                   {"Về danh sách sự kiện giao lỗi", "Back to the dead letters"},
	"dlq.failed":                 {"Dừng ở lỗi: %s", "Stopped at an error: %s"},
	"health.ready":               {"Sẵn sàng", "Ready"},
	"health.notready":            {"Chưa sẵn sàng: %s", "Not ready: %s"},
	"health.lag":                 {"Độ trễ tiêu thụ (bản ghi chưa xử lý)", "Consumer lag (records not yet handled)"},
	"health.rates":               {"Tốc độ trong %s gần nhất", "Rates over the last %s"},
	"health.metric":              {"Chỉ số", "Metric"},
	"health.persec":              {"mỗi giây", "per second"},
	"health.permin":              {"mỗi phút", "per minute"},
	"health.total":               {"tổng", "total"},
	"health.role":                {"Vai trò", "Role"},
	"health.group":               {"Nhóm tiêu thụ", "Consumer group"},
	"health.topic":               {"Chủ đề", "Topic"},
	"health.lagn":                {"Độ trễ", "Lag"},
	"health.nolag":               {"Chỉ quản trị xem được độ trễ.", "Only the admin sees the lag."},
	"err.session":                {"Phiên đăng nhập đã hết hạn hoặc không tồn tại. Vui lòng đăng nhập lại.", "Your session has expired or does not exist. Please sign in again."},
	"err.csrf":                   {"Biểu mẫu đã cũ hoặc thiếu mã chống giả mạo (CSRF). Vui lòng tải lại trang và thử lại.", "The form is stale or lacks its anti-forgery (CSRF) token. Reload the page and try again."},
	"err.crossorigin":            {"Yêu cầu đến từ một trang khác đã bị từ chối.", "A request from another site was refused."},
	"err.notfound":               {"Không tìm thấy hồ sơ, hoặc bạn không có quyền xem.", "No such dossier, or you may not see it."},
	"err.forbidden":              {"Bạn không có quyền xem trang này.", "You may not see this page."},
	"err.badfilter":              {"Bộ lọc không hợp lệ.", "A filter is not valid."},
	"err.unavailable":            {"Hệ thống tạm thời không trả lời. Vui lòng thử lại sau.", "The system is not answering for now. Try again later."},
	"err.api":                    {"Không lấy được dữ liệu.", "The data could not be read."},
	"err.internal":               {"Đã có lỗi xảy ra.", "Something went wrong."},
	"err.nopage":                 {"Không có trang này.", "No such page."},
	"err.limit":                  {"Số dòng phải từ 1 đến %d.", "Rows must be 1 to %d."},
	"err.date":                   {"Ngày không hợp lệ: %q (dạng 2026-03-31).", "Not a date: %q (like 2026-03-31)."},
	"err.badcode":                {"Mã hồ sơ không đúng dạng: %q.", "Not a dossier code: %q."},
	"err.back":                   {"Về danh sách hồ sơ", "Back to the dossiers"},
	"err.signin":                 {"Đăng nhập", "Sign in"},
	"signedas":                   {"Đăng nhập với", "Signed in as"},
	"legend":                     {"Chú thích", "Legend"},
}

// translator returns the catalog lookup of a language; an unknown key
// shows as itself (a missing entry is visible, never a crash).
func translator(lang string) func(string, ...any) string {
	i := 0
	if lang == "en" {
		i = 1
	}
	return func(key string, args ...any) string {
		m, ok := messages[key]
		if !ok {
			return key
		}
		if len(args) == 0 {
			return m[i]
		}
		return fmt.Sprintf(m[i], args...)
	}
}

// parsePages parses the layout with each page.
func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"lower": strings.ToLower,
		"dict": func(kv ...any) map[string]any {
			m := make(map[string]any, len(kv)/2)
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i].(string)] = kv[i+1]
			}
			return m
		},
	}
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(files, n))
	}
	return out
}
