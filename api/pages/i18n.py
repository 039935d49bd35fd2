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


def labels(categories_file=None) -> dict[str, dict[str, str]]:
    """{lang: {key: text}} for every label the pages use."""
    out: dict[str, dict[str, str]] = {"zh-CN": {}, "en": {}}
    for group, prefix in ((_TEXT, ""), (_STATUS, "status."), (_ACTION, "action."),
                          (_ROLE, "role."), (_DEPT, "dept."),
                          (PLAN_TEXT, "")):
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
