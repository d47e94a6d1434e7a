"""The Chinese labels of the enumerations people read, one table for every reply and notice.

Codes stay English in the API and the database; a resident or clerk reads these words. The
domains define their enumerations from these tables' keys, so a code cannot lack its label.
"""

from __future__ import annotations

# participation: a resident's claim to belong to a household (住户认证). `left` and `revoked` end a
# verified membership: the resident left the household, or a roster re-import changed its owner.
CLAIM_STATUSES = {
    "pending": "待审核",
    "verified": "已认证",
    "rejected": "未通过",
    "left": "已退出",
    "revoked": "已撤销",
}

# voting: the kinds of consultation (征询)
CONSULTATION_KINDS = {
    "plan_satisfaction": "改造方案满意度征询",
    "needs_survey": "改造需求调查",
    "owners_decision": "业主共同决定表决",
}

# voting: the answers a ballot can give, per kind (a needs survey picks items instead)
CHOICES = {
    "plan_satisfaction": {"satisfied": "满意", "unsatisfied": "不满意", "abstain": "弃权"},
    "needs_survey": {},
    "owners_decision": {"agree": "同意", "disagree": "不同意", "abstain": "弃权"},
}

# voting: the matters owners decide together (Civil Code art. 278, items 1–9). The matter decides
# the rule: items 6–8 need 3/4 of the participating area and owners, the others more than half.
MATTERS = {
    "rules_of_procedure": "制定和修改业主大会议事规则",
    "management_statute": "制定和修改管理规约",
    "owners_committee": "选举业主委员会或者更换业主委员会成员",
    "property_management": "选聘和解聘物业服务企业或者其他管理人",
    "use_maintenance_fund": "使用建筑物及其附属设施的维修资金",
    "raise_maintenance_fund": "筹集建筑物及其附属设施的维修资金",
    "rebuild": "改建、重建建筑物及其附属设施",
    "change_common_use": "改变共有部分的用途或者利用共有部分从事经营活动",
    "other_major": "有关共有和共同管理权利的其他重大事项",
}
THREE_QUARTER_MATTERS = ("raise_maintenance_fund", "rebuild", "change_common_use")


def rule_of(matter: str | None) -> str:
    """The rule art. 278 gives a matter: 3/4 for items 6–8, more than half for the others
    (voting's decisions and participation's contribution schemes both read it here)."""
    return "three_quarters" if matter in THREE_QUARTER_MATTERS else "majority"


# voting: how a ballot reached the count
CHANNELS = {"wechat": "微信投票", "paper": "纸质选票", "assisted": "协助投票"}

# voting: a delegation of an owner's vote (委托投票)
DELEGATION_STATUSES = {
    "pending": "待核实",
    "verified": "已核实",
    "rejected": "未通过核实",
    "revoked": "已撤销",
}
# voting: a resident's part in a delegation (GET /me/export)
DELEGATION_ROLES = {"owner": "委托人", "delegate": "受托人"}

# feedback: a supervisor sign-up (监督员报名)
SIGNUP_STATUSES = {
    "pending": "待审核",
    "accepted": "已通过",
    "declined": "未通过",
    "withdrawn": "已撤回",
}

# voting: who gave an official reply to a resident's comment on a ballot (never their name)
REPLIER_ROLES = {"committee": "社区居委会", "owner": "建设单位"}

# participation: the milestones the policy dates
MILESTONES = {
    "preparation": "前期准备（可研、设计、施工图）",
    "approval_and_start": "审批完成并开工",
    "works_finished": "完工",
    "completion_acceptance": "竣工验收",
}

# notices: the category residents read (also a subscription message's thing3). Staff publish the
# first six; the others are written by the events that publish by themselves.
NOTICE_CATEGORIES = {
    "plan_publicity": "方案公示",
    "consultation_open": "征询开始",
    "construction": "施工通知",
    "utility_cut": "停水停电",
    "acceptance_result": "验收结果",
    "general": "通知公告",
    "consultation_closing": "征询即将截止",
    "gate_result": "征询结果",
    "milestone_overdue": "进度提醒",
    "ticket_answered": "问题答复",
    "ballot_replaced": "选票变更提醒",
    "supervision_reviewed": "监督员报名结果",
    "membership_revoked": "住户认证撤销",
    "progress_update": "进度公示",
}

# --- the other enumerations replies show (issue 12: every code carries its label) ----------------

# participation: who a claim says the resident is to the household
RELATIONS = {"owner": "业主", "tenant": "租户", "family": "家庭成员"}

# participation: a staff member's role (the scope it covers: none, a county, a community, a
# project)
ROLES = {
    "prefecture": "市级主管部门",
    "county": "县（市、区）主管部门",
    "committee": "社区居委会",
    "owner": "建设单位",
}

# who is signed in (GET /me)
USER_KINDS = {"resident": "居民", "staff": "工作人员"}

# participation: a project's category under the policy
PROJECT_CATEGORIES = {"basic": "基础类", "improvement": "完善类", "enhancement": "提升类"}

# participation: where a project stands, in the order of its lifecycle
PROJECT_STATUSES = {
    "reserve": "项目储备",
    "annual_plan": "列入年度计划",
    "consulting": "征求居民意见",
    "approved": "已审批",
    "construction": "施工中",
    "completed": "已完工",
    "accepted": "已竣工验收",
}

# participation: where a project's money comes from (多渠道筹资)
FUNDING_SOURCES = {
    "government": "政府补助",
    "residents": "居民出资",
    "maintenance_fund": "专项维修资金",
    "housing_provident_fund": "住房公积金",
    "social_capital": "社会资本",
    "utility_company": "管线单位出资",
}

# participation: what an item of a plan renovates; also a needs survey's default options
PLAN_ITEM_CATEGORIES = {
    "rain_sewage_separation": "雨污分流",
    "utility_lines": "水电气讯管线改造",
    "lighting": "照明设施",
    "fitness": "健身设施",
    "security_cameras": "安防监控",
    "waste_sorting": "垃圾分类设施",
    "leisure_space": "休闲活动空间",
    "elderly_care": "养老服务设施",
    "barrier_free": "无障碍设施",
    "parking": "停车设施",
    "ev_charging": "电动车充电设施",
    "greening": "绿化",
    "roof_facade": "屋面及外立面",
    "elevator": "加装电梯",
    "other": "其他",
}

# voting: where a consultation stands
CONSULTATION_STATUSES = {"draft": "未开始", "open": "进行中", "closed": "已结束"}

# voting: every answer a ballot records; a needs survey's ballot is `picked` and carries items
BALLOT_CHOICES = {
    **CHOICES["plan_satisfaction"],
    **CHOICES["owners_decision"],
    "picked": "已勾选",
}

# voting: what the count weighs (计票基数)
BASES = {"households": "按户数", "persons": "按人数", "floor_area": "按建筑面积"}

# voting: the gate's reading of satisfaction
GATE_BASES = {
    "ballots": "满意户数占投票户数的比例",
    "households": "满意户数占全部有权投票户数的比例",
}

# voting: the majority an owners' decision needs (Civil Code art. 278)
RULES = {"majority": "过半数同意", "three_quarters": "四分之三以上同意"}

# voting: a resident's opinion of one plan item
OPINIONS = {"support": "支持", "oppose": "反对", "neutral": "中立"}

# voting: why a resident who sees a consultation may not vote in it
INELIGIBILITY_REASONS = {
    "not_verified": "尚未通过住户认证",
    "other_estate": "所在小区不在本次征询范围",
    "consultation_not_open": "征询尚未开始",
    "joined_after_opening": "征询开始后才完成住户认证",
    "not_an_owner": "业主共同决定仅由业主或其委托人表决",
}

# voting: why the satisfaction gate is not passed (GET /projects/{id}/gate, 409 gate_not_passed)
GATE_REASONS = {
    "no_consultation": "当前方案尚未征询居民意见",
    "consultation_open": "满意度征询尚未结束",
    "not_passed": "居民满意度或参与率未达到要求",
    "tally_pending": "最终计票尚未完成，请稍后再试",
}

# voting: why a count shows participation only
RESULTS_HIDDEN = {
    "until_close": "征询结束后公布结果",
    "too_few_ballots": "投票户数较少，暂不公布结果",
}

# feedback: what an inspection or a problem is about
ASPECTS = {
    "safety": "施工安全",
    "materials": "材料质量",
    "workmanship": "施工工艺",
    "noise_dust": "噪音扬尘",
    "schedule": "施工进度",
    "site_cleanliness": "现场文明施工",
    "other": "其他",
}

# feedback: how serious a finding is
SEVERITIES = {"none": "无问题", "minor": "一般", "major": "较重", "critical": "严重"}

# feedback: who raised a ticket
TICKET_SOURCES = {"inspection": "监督员巡查", "resident": "居民反映"}

# feedback: where a ticket stands
TICKET_STATUSES = {
    "open": "待答复",
    "answered": "已答复",
    "resolved": "已解决",
    "reopened": "重新打开",
}

# feedback: a step in a ticket's history, and who took it
TICKET_EVENT_KINDS = {
    "opened": "提交",
    "answered": "答复",
    "resolved": "确认解决",
    "reopened": "重新打开",
}
TICKET_ACTORS = {"staff": "工作人员", "reporter": "反映人"}

# feedback: the days of the week a supervisor can come
WEEKDAYS = {
    "mon": "周一",
    "tue": "周二",
    "wed": "周三",
    "thu": "周四",
    "fri": "周五",
    "sat": "周六",
    "sun": "周日",
}

# feedback: what residents rate after completion (竣工满意度评价)
RATING_DIMENSIONS = {
    "quality": "工程质量",
    "environment": "环境改善",
    "facilities": "配套设施",
    "site_management": "施工管理",
    "overall": "总体评价",
}

# feedback: a comment's state of moderation
COMMENT_STATUSES = {
    "visible": "已公开",
    "pending_check": "待审核",
    "pending_review": "待复核",
    "reported": "被举报待处理",
    "hidden": "已隐藏",
    "refused": "未通过审核",
}

# feedback: the parties of a joint completion acceptance, and their verdicts
PARTY_ROLES = {"design": "设计单位", "construction": "施工单位", "supervision": "监理单位"}
VERDICTS = {"pass": "合格", "conditional": "整改后合格", "fail": "不合格"}

# notices: where a notice stands, and whom it reaches
NOTICE_STATUSES = {
    "draft": "草稿",
    "scheduled": "定时发布",
    "published": "已发布",
    "withdrawn": "已撤回",
}
# notices: where a WeChat message of a notice to one resident stands
DELIVERY_STATUSES = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "no_consent": "未订阅",
    "failed": "发送失败",
    "retrying": "等待重试",
    "cancelled": "已取消",
}
NOTICE_TARGET_KINDS = {
    "community": "社区",
    "estate": "小区",
    "buildings": "楼栋",
    "project": "项目",
    "resident": "居民本人",
}

# a project's timeline (GET /projects/{id}/timeline): what each entry records
TIMELINE_KINDS = {
    "transition": "项目阶段变更",
    "plan_version": "方案发布",
    "milestone_due": "节点计划",
    "milestone_done": "节点完成",
    "consultation_opened": "征询开始",
    "consultation_closes": "征询截止",
    "consultation_closed": "征询结束",
    "progress_update": "进度公示",
}

# --- issue 15: residents' contributions (居民出资) and the estate after acceptance ---------------

# participation: how a contribution scheme splits the money among households
CONTRIBUTION_BASES = {"floor_area": "按建筑面积（元/平方米）", "household": "按户（元/户）"}

# participation: where a contribution scheme stands. A draft collects nothing; it is adopted only
# by a passed owners' decision on its art. 278 matter; a cancelled scheme refunds what was paid.
CONTRIBUTION_STATUSES = {"draft": "草案", "adopted": "已通过", "cancelled": "已取消"}

# participation: the art. 278 matters a scheme that raises money from owners may be decided under
# (3/4 for raising funds, rebuilding and changing the use of common parts; more than half for the
# other major matters)
CONTRIBUTION_MATTERS = {
    key: MATTERS[key]
    for key in ("raise_maintenance_fund", "rebuild", "change_common_use", "other_major")
}

# participation: a household's answer to a scheme
PLEDGE_CHOICES = {"pledged": "承诺出资", "declined": "暂不出资"}

# participation: an entry of a household's contribution account (never edited: a correction is a
# new entry)
CONTRIBUTION_ENTRY_KINDS = {"payment": "缴款", "correction": "更正", "refund": "退款"}

# participation: how money came in or went back
PAYMENT_CHANNELS = {"cash": "现金", "bank_transfer": "银行转账", "other": "其他"}

# participation: who recorded an entry: a clerk at the desk, or (later) a payment adapter
PAYMENT_SOURCES = {"clerk": "工作人员登记", "adapter": "在线支付"}

# participation: how a household's amount is rounded to the fen
ROUNDING_RULES = {"half_up": "按分四舍五入（每户金额先按面积乘以单价，再四舍五入到分）"}

# feedback: when a ticket was raised: during the works or in the warranty period after acceptance
TICKET_PHASES = {"construction": "施工期间", "warranty": "保修期内"}

# feedback: where an estate's management rules (小区管理办法) stand
ESTATE_RULES_STATUSES = {
    "draft": "草稿",
    "published": "公示征求意见",
    "adopted": "已通过",
    "rejected": "未通过",
    "withdrawn": "已撤回",
}
