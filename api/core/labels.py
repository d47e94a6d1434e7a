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
}
