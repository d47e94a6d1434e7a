"""The Chinese labels of the enumerations people read, one table for every reply and notice.

Codes stay English in the API and the database; a resident or clerk reads these words. The
domains define their enumerations from these tables' keys, so a code cannot lack its label.
"""

from __future__ import annotations

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

# voting: how a ballot reached the count
CHANNELS = {"wechat": "微信投票", "paper": "纸质选票", "assisted": "协助投票"}

# voting: a delegation of an owner's vote (委托投票)
DELEGATION_STATUSES = {
    "pending": "待核实",
    "verified": "已核实",
    "rejected": "未通过核实",
    "revoked": "已撤销",
}

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
}
