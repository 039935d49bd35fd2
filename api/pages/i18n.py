"""Page labels in Chinese (default) and English; the pages switch between them in the browser."""

from __future__ import annotations

from api.pages.i18n_plan import PLAN_TEXT
from api.pages.stats_i18n import stats_labels
from gis.categories import load_categories
from gis.levels import LEVELS
from gis.roster import DEPARTMENT_KINDS, ROLE_LABELS
from gis.workflow import STATUSES

DEFAULT_LANG = "zh-CN"
LANGS = ("zh-CN", "en")

_STATUS = {
    "reported": ("已上报", "Reported"), "accepted": ("已立案", "Accepted"),
    "rejected": ("不予立案", "Rejected"), "dispatched": ("已派遣", "Dispatched"),
    "in_progress": ("处置中", "In progress"), "resolved": ("处置完成", "Resolved"),
    "verified": ("已核查", "Verified"), "closed": ("已结案", "Closed"),
}
_ACTION = {
    "accept": ("立案", "Accept"), "reject": ("不予立案", "Reject"),
    "dispatch": ("派遣", "Dispatch"),
    "start": ("开始处置", "Start work"), "resolve": ("处置完成", "Resolve"),
    "verify": ("核查通过", "Verify"), "send_back": ("退回处置", "Send back"),
    "close": ("结案", "Close"),
    "urge": ("督办", "Urge"), "escalate": ("超期升级", "Escalated"),
    "rate": ("群众评价", "Resident's rating"), "follow_up": ("电话回访", "Phone follow-up"),
}
_TEXT = {
    "app": ("网格化管理", "Grid management"),
    "command_title": ("指挥中心", "Command center"),
    "worker_title": ("我的网格", "My grid"),
    "plan_title": ("网格规划", "Grid planning"),
    "login_title": ("登录", "Log in"),
    "username": ("用户名", "Username"), "password": ("密码", "Password"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"),
    "login_failed": ("用户名或密码错误", "Wrong username or password"),
    "session_expired": ("登录已过期，请重新登录", "Your session has expired; please log in again"),
    "login_required": ("请先登录", "Please log in"),
    "no_assignment": ("您尚未分配网格，请联系管理员分配责任区域后再使用。",
                      "You have no assigned area yet. Ask an administrator to assign one."),
    "wrong_role": ("当前账号无权使用此页面", "This account may not use this page"),
    "lang": ("English", "中文"),
    "filters": ("筛选", "Filters"), "status": ("状态", "Status"), "category": ("类别", "Category"),
    "period": ("时段", "Period"), "area": ("区域", "Area"), "all": ("全部", "All"),
    "today": ("今天", "Today"), "days7": ("近7天", "Last 7 days"),
    "days30": ("近30天", "Last 30 days"), "apply": ("应用", "Apply"),
    "heat": ("热力图", "Heat map"), "choropleth": ("专题图", "Choropleth"),
    "none": ("无", "None"), "disposal_rate": ("处置率", "Disposal rate"),
    "overdue_count": ("超期数", "Overdue count"),
    "by_community": ("按社区", "by community"), "by_grid": ("按网格", "by grid"),
    "incidents": ("事件", "Incidents"), "overdue": ("超期督办", "Overdue"),
    "details": ("事件详情", "Incident"), "history": ("处理记录", "History"),
    "note": ("备注", "Note"), "code": ("编号", "Code"), "title": ("标题", "Title"),
    "description": ("描述", "Description"), "reported_at": ("上报时间", "Reported"),
    "due_at": ("处置时限", "Due"), "assignee": ("处置人", "Assignee"),
    "actor": ("操作人", "Actor"), "at": ("时间", "Time"), "close_panel": ("关闭", "Close"),
    "live_new": ("新事件", "New incident"), "live_changed": ("事件更新", "Incident updated"),
    "outlines": ("边界", "Boundaries"), "households": ("户数", "Households"),
    "buildings": ("楼栋", "Buildings"), "micro_grids": ("微网格", "Micro-grids"),
    "open_incidents": ("待办事件", "Open incidents"),
    "report_here": ("在此上报", "Report here"), "report_tap": ("请点击地图选择位置",
                                                              "Tap the map to place it"),
    "use_location": ("使用当前位置", "Use my location"), "submit": ("提交", "Submit"),
    "cancel": ("取消", "Cancel"), "reported_ok": ("上报成功", "Reported"),
    "patrol_start": ("开始巡查", "Start patrol"), "patrol_stop": ("结束巡查", "Stop patrol"),
    "patrol_on": ("巡查中", "Patrolling"), "patrol_points": ("已记录点位", "points recorded"),
    "no_location": ("无法获取位置", "Location unavailable"),
    "under": ("低于下限", "Under"), "within": ("范围内", "Within"), "over": ("超出上限", "Over"),
    "bounds_legend": ("户数与标准", "Households vs. bounds"),
    "split_preview": ("拆分预览", "Split preview"), "select_grid": ("点击网格以预览拆分",
                                                                     "Click a grid to preview"),
    "parts": ("分块", "Parts"), "compactness": ("紧凑度", "Compactness"),
    "violations": ("问题", "Violations"), "validation": ("校验结果", "Validation"),
    "valid_ok": ("当前边界全部通过校验", "The current boundaries pass every check"),
    "preview": ("预览", "Preview"), "clear": ("清除", "Clear"),
    "min": ("下限", "Min"), "max": ("上限", "Max"),
    "loading": ("加载中…", "Loading…"), "error": ("出错", "Error"),
    "unassigned_buildings": ("未归属微网格的楼栋", "Buildings without a micro-grid"),
    "outside_parent": ("超出上级边界", "Outside its parent"),
    # people and the workflow with real people (roster, dispatch, supervision, evaluation)
    "choose_assignee": ("选择处置人或部门", "Choose a person or department"),
    "department": ("职能部门", "Department"), "urge": ("督办", "Urge"),
    "urge_needs_note": ("请先在备注中写明督办要求", "Write what you expect in the note first"),
    "urged": ("已督办", "Urged"), "rating_link": ("生成评价链接", "Rating link"),
    "follow_up": ("记录电话回访", "Record phone follow-up"),
    "satisfaction": ("满意度", "Satisfaction"),
    "escalated_1": ("已升级至街道", "Escalated to the street"),
    "escalated_2": ("已升级至区", "Escalated to the district"),
    "people_title": ("人员管理", "People"), "workers": ("网格员", "Workers"),
    "departments": ("职能部门", "Departments"), "name": ("姓名", "Name"),
    "phone": ("电话", "Phone"), "role": ("角色", "Role"), "areas": ("责任区域", "Areas"),
    "account": ("账号", "Account"), "active": ("在岗", "Active"),
    "disabled": ("已停用", "Disabled"), "person_new": ("新增人员", "New person"),
    "dept_new": ("新增部门", "New department"), "kind": ("类型", "Kind"),
    "street": ("街道", "Street"), "save": ("保存", "Save"), "search": ("搜索", "Search"),
    "assign_area": ("分配区域", "Assign area"), "area_search": ("区域编码或名称",
                                                               "Area code or name"),
    "starts_on": ("开始日期", "Starts"), "ends_on": ("结束日期", "Ends"),
    "disable": ("停用", "Disable"), "enable": ("启用", "Enable"),
    "end_assignment": ("结束", "End"),
    "import_workers": ("批量导入网格员", "Import workers"),
    "import_hint": ("CSV 列：code,name,phone,username,role,area,starts_on,ends_on",
                    "CSV columns: code,name,phone,username,role,area,starts_on,ends_on"),
    "import_ok": ("导入完成", "Imported"), "import_failed": ("导入失败，未写入任何数据",
                                                             "Import failed; nothing written"),
    "row": ("行", "Row"), "reason": ("原因", "Reason"), "saved": ("已保存", "Saved"),
    "rate_title": ("事件处置评价", "Rate how your case was handled"),
    "rate_prompt": ("请为处置结果打分（1–5）", "Score the result from 1 to 5"),
    "comment": ("意见建议", "Comment"), "rate_submit": ("提交评价", "Submit"),
    "rate_thanks": ("感谢您的评价！", "Thank you for your rating!"),
    "rate_gone": ("该评价链接已失效（已使用或已过期）",
                  "This rating link no longer works (used or expired)"),
    "why": ("需关注的分块", "Parts to look at"), "part": ("分块", "Part"),
    "why_lone_building": ("单栋楼 {households} 户，超过上限 {max}（楼栋不拆分）",
                          "one building of {households} households, over the maximum {max} "
                          "(buildings are never split)"),
    "why_arithmetic": ("{households} 户：上级的户数无法分成 {min}–{max} 户的分块",
                       "{households} households: the parent's households cannot be divided "
                       "into parts of {min}–{max}"),
    "why_under": ("{households} 户，比下限 {min} 少 {missing} 户：楼栋间的切线无法再多分入"
                  "（最大楼栋 {largest} 户）", "{households} households, {missing} under the "
                  "minimum {min}: no cut between footprints gave it more (largest building "
                  "{largest})"),
    "why_over": ("{households} 户，比上限 {max} 多 {extra} 户：楼栋间的切线无法再少分"
                 "（最大楼栋 {largest} 户）", "{households} households, {extra} over the "
                 "maximum {max}: no cut between footprints gave it less (largest building "
                 "{largest})"),
    "why_towers": ("{households} 户：四周多为超过上限的单栋楼"
                   "（{neighbours} 个相邻分块中 {towers} 个），可交换楼栋的相邻分块太少",
                   "{households} households: boxed in by buildings "
                   "over the maximum ({towers} of its {neighbours} neighbours), so few "
                   "neighbours can trade buildings with it"),
    "why_walled": ("{households} 户：被超过上限的单栋楼所在分块围住，连同不经这些分块可达的分块"
                   "（共 {parts} 个）共 {buildings} 栋楼 {total} 户，无论如何组合都无法分成 "
                   "{min}–{max} 户的分块", "{households} households: walled in by the parts of "
                   "buildings over the maximum; with the parts it reaches without crossing one "
                   "({parts} in all) it holds {buildings} buildings of {total} households, "
                   "which no grouping divides into parts of {min}–{max}"),
    "why_no_trade_under": ("{households} 户，比下限 {min} 少 {missing} 户：相邻分块的任一楼栋并入，"
                           "或本分块整体并入相邻分块，都会使某个分块超出 {min}–{max} 户"
                           "（相邻分块最小的楼栋 {smallest} 户，并入后 {together} 户）",
                           "{households} households, {missing} under the minimum {min}: no "
                           "building of a neighbouring part can join it, nor it a neighbouring "
                           "part, without putting a part out of bounds (the smallest building "
                           "of a neighbouring part holds {smallest}, {together} with it)"),
    "why_no_trade_over": ("{households} 户，比上限 {max} 多 {extra} 户：其楼栋（{sizes} 户）"
                          "任一栋划入相邻分块都会使某个分块超出范围，自身也无法分成 "
                          "{min}–{max} 户的分块", "{households} households, {extra} over the "
                          "maximum {max}: none of its buildings ({sizes}) can go to a "
                          "neighbouring part without putting a part out of bounds, and they "
                          "cannot be grouped into parts of {min}–{max} on their own"),
    "why_beside_tower": ("{households} 户：单栋楼 {largest} 户超过上限 {max}（楼栋不拆分），"
                         "旁边另有 {beside} 户", "{households} households: a building of "
                         "{largest}, over the maximum {max} (buildings are never split), and "
                         "{beside} households beside it"),
    "why_corridor": ("{households} 户：另一种划分可减少超限分块，但会产生紧凑度仅 {pp} 的"
                     "狭长分块（低于 {floor}），故保留紧凑划分", "{households} households: a "
                     "division with fewer parts out of bounds was found, but only with a part "
                     "of PP {pp} (a corridor, under {floor}); the compact one was kept"),
    "why_narrow_parent": ("形状细长（紧凑度 {pp}）：上级本身狭长（紧凑度 {parent_pp}），"
                          "约 {length_m}×{width_m} 米", "thin (PP {pp}): the parent itself is "
                          "narrow (PP {parent_pp}); {length_m} x {width_m} m"),
    "why_ragged": ("形状细长（紧凑度 {pp}）：边界绕楼栋或上级轮廓弯折（占外接矩形的 {fill}）",
                   "thin (PP {pp}): its edges wind around footprints or the parent's outline "
                   "(fills {fill} of its rectangle)"),
    "why_strip": ("形状细长（紧凑度 {pp}）：切线之间约 {length_m}×{width_m} 米的条带",
                  "thin (PP {pp}): a strip of {length_m} x {width_m} m between cuts"),
    "account_title": ("我的账号", "My account"), "api_keys": ("API 密钥", "API keys"),
    "api_keys_help": ("只读密钥供 QGIS 等桌面 GIS 使用：用户名为账号，密码为密钥（HTTP Basic），"
                      "或在地址后加 ?apikey=。",
                      "Read-only keys for desktop GIS such as QGIS: user name = your account, "
                      "password = the key (HTTP Basic), or add ?apikey= to the URL."),
    "key_name": ("名称", "Name"), "key_expires_days": ("有效天数", "Expires in days"),
    "create_key": ("创建密钥", "Create key"),
    "key_once": ("请立即保存此密钥，它只显示这一次：",
                 "Store this key now; it is shown only once:"),
    "key_prefix": ("前缀", "Prefix"), "created": ("创建时间", "Created"),
    "expires": ("到期", "Expires"), "last_used": ("最近使用", "Last used"),
    "never": ("从不", "Never"), "no_expiry": ("长期有效", "No expiry"),
    "revoke_key": ("吊销", "Revoke"), "revoked": ("已吊销", "Revoked"),
    "my_account": ("我的账号", "My account"),
}
_ROLE = ROLE_LABELS  # worker roles and department kinds: one table each, in gis.roster
_DEPT = DEPARTMENT_KINDS

# The worker app (/map/me): queue, tasks, photos, patrols, who is responsible, history.
_WORKER_APP = {
    "queue_label": ("待同步", "Queued"), "queue_details": ("同步队列", "Sync queue"),
    "sync_idle": ("已同步", "In sync"), "sync_syncing": ("同步中…", "Syncing…"),
    "sync_offline": ("离线，联网后自动发送", "Offline: sent when back online"),
    "sync_retry": ("网络不稳，稍后重试", "Network trouble, retrying"),
    "sync_auth": ("登录已过期：重新登录后继续同步，数据不会丢失",
                  "Session expired: log in again to continue; nothing is lost"),
    "last_sync": ("上次同步", "Last sync"), "never_synced": ("从未", "never"),
    "login_again": ("重新登录", "Log in again"),
    "queue_empty": ("没有待同步的内容", "Nothing waiting"),
    "queued": ("已存入队列", "Saved; will be sent"), "failed": ("发送失败", "Failed"),
    "waiting": ("等待中", "Waiting"), "edit": ("修改", "Edit"), "drop": ("删除", "Drop"),
    "save": ("保存", "Save"), "confirm_drop": ("确定删除这条记录？它不会被发送。",
                                               "Drop this item? It will not be sent."),
    "kind.report": ("上报", "Report"), "kind.photo": ("照片", "Photo"),
    "kind.transition": ("处置步骤", "Workflow step"), "kind.patrol_start": ("开始巡查",
                                                                            "Patrol start"),
    "kind.patrol_points": ("巡查轨迹点", "Patrol points"), "kind.patrol_end": ("结束巡查",
                                                                             "Patrol end"),
    "photos": ("照片（最多5张）", "Photos (up to 5)"),
    "too_many_photos": ("最多5张照片", "At most 5 photos"),
    "not_an_image": ("不是有效的JPEG或PNG图片", "Not a valid JPEG or PNG image"),
    "photo_too_large": ("照片过大", "Photo too large"),
    "title_required": ("请填写标题", "Please enter a title"),
    "my_tasks": ("我的任务", "My tasks"), "no_tasks": ("暂无任务", "No tasks"),
    "due": ("期限", "Due"), "task_start": ("开始处置", "Start"),
    "task_resolve": ("处置完成", "Resolve"), "resolve_note": ("处置说明", "What was done"),
    "show_on_map": ("在地图上显示", "Show on map"), "distance": ("距离", "Distance"),
    "bearing": ("方位", "Bearing"), "pending": ("待发送", "pending"),
    "new_task": ("新任务", "New task"),
    "dir.N": ("北", "N"), "dir.NE": ("东北", "NE"), "dir.E": ("东", "E"),
    "dir.SE": ("东南", "SE"), "dir.S": ("南", "S"), "dir.SW": ("西南", "SW"),
    "dir.W": ("西", "W"), "dir.NW": ("西北", "NW"),
    "metres": ("米", "m"), "km": ("公里", "km"),
    "patrol_distance": ("里程", "Distance"), "patrol_grids": ("已巡微网格", "Micro-grids"),
    "patrol_gaps": ("中断", "Gaps"),
    "responsible": ("责任人", "Who is responsible"),
    "micro_grid_leader": ("微网格长", "Micro-grid leader"),
    "grid_leader": ("网格长", "Grid leader"), "grid_workers": ("网格员", "Grid workers"),
    "phone": ("电话", "Phone"), "nobody": ("暂无", "nobody"),
    "my_history": ("我的记录", "My history"), "my_reports": ("我的上报（30天）",
                                                             "My reports (30 days)"),
    "my_patrols": ("我的巡查（30天）", "My patrols (30 days)"),
    "offline_cached": ("离线：显示的是上次缓存的数据", "Offline: showing the last cached data"),
}
# Server problem documents, translated by their title (the detail stays as sent when unknown).
_PROBLEMS = {
    "Unauthorized": ("未登录或登录已过期", "Unauthorized"),
    "Forbidden": ("无权操作", "Forbidden"), "Not Found": ("未找到", "Not found"),
    "Conflict": ("冲突", "Conflict"), "Illegal transition": ("当前状态不允许此操作",
                                                           "Not allowed in this status"),
    "Unprocessable incident": ("事件无法受理", "Incident cannot be taken"),
    "Invalid request": ("请求无效", "Invalid request"),
    "Invalid transition": ("处置步骤无效", "Invalid workflow step"),
    "Invalid patrol data": ("巡查数据无效", "Invalid patrol data"),
    "Photo too large": ("照片过大", "Photo too large"),
    "Not an image": ("不是有效的图片", "Not an image"),
    "Too many photos": ("照片数量超过上限", "Too many photos"),
    "Content Too Large": ("内容过大", "Content too large"),
    "Service Unavailable": ("服务暂不可用", "Service unavailable"),
    "Idempotency-Key reused": ("重复的请求标识", "Idempotency-Key reused"),
    "Batch too large": ("批量过大", "Batch too large"),
    "Offline": ("离线", "Offline"),
}
_PROBLEM_DETAILS = {
    "incidents outside your areas": ("事件位置不在您的责任区域内",
                                     "The location is outside your areas"),
    "incidents outside every area": ("事件位置不在任何网格内",
                                     "The location is outside every area"),
    "points outside your areas": ("巡查点不在您的责任区域内",
                                  "Patrol points outside your areas"),
}


def labels(categories_file=None) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} for every label the pages use."""
    out: dict[str, dict[str, str]] = {"zh-CN": {}, "en": {}}
    for group, prefix in ((_TEXT, ""), (_STATUS, "status."), (_ACTION, "action."),
                          (_ROLE, "role."), (_DEPT, "dept."),
                          (PLAN_TEXT, ""), (_WORKER_APP, ""), (_PROBLEMS, "problem."),
                          (_PROBLEM_DETAILS, "problem_detail.")):
        for key, (zh, en) in group.items():
            out["zh-CN"][prefix + key] = zh
            out["en"][prefix + key] = en
    for cat in load_categories(categories_file).values():
        out["zh-CN"]["category." + cat.key] = cat.zh
        out["en"]["category." + cat.key] = cat.en
    for lv in LEVELS.values():
        out["zh-CN"]["level." + lv.name] = lv.zh
        out["en"]["level." + lv.name] = lv.en
    for lang, texts in stats_labels().items():  # the statistics page and live layers
        out[lang].update(texts)
    assert set(STATUSES) <= set(_STATUS)
    return out
