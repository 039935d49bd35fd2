"""The incident workflow (DESIGN §5, 接、派、办、督、评、报) as a state machine.

reported -> accepted | rejected; accepted -> dispatched -> in_progress -> resolved -> verified
-> closed; verification may send a resolved case back to in_progress (`send_back`); a dispatched
or in-progress case may be dispatched again to someone else (改派), each step an event.
"""

from __future__ import annotations

from dataclasses import dataclass

STATUSES = ["reported", "accepted", "rejected", "dispatched", "in_progress", "resolved",
            "verified", "closed"]
OPEN_STATUSES = ["reported", "accepted", "dispatched", "in_progress"]
DONE_STATUSES = ["resolved", "verified", "closed"]  # "resolved or later" for the disposal rate


@dataclass(frozen=True)
class Transition:
    """A named action from one status to another, and the roles allowed to take it."""

    action: str
    source: str
    target: str
    roles: frozenset[str]


_CMD = frozenset({"admin", "commander"})
_WORK = frozenset({"admin", "commander", "worker", "department"})

TRANSITIONS: list[Transition] = [
    Transition("accept", "reported", "accepted", _CMD),  # 立案
    Transition("reject", "reported", "rejected", _CMD),
    Transition("dispatch", "accepted", "dispatched", _CMD),  # 派遣
    Transition("dispatch", "dispatched", "dispatched", _CMD),  # 改派 (re-dispatch)
    Transition("dispatch", "in_progress", "dispatched", _CMD),  # 改派 while being handled
    Transition("start", "dispatched", "in_progress", _WORK),  # 处置
    Transition("resolve", "in_progress", "resolved", _WORK),  # 处置完成
    Transition("verify", "resolved", "verified", _CMD),  # 核查
    Transition("send_back", "resolved", "in_progress", _CMD),  # 核查不通过, 返回处置
    Transition("close", "verified", "closed", _CMD),  # 结案 (may carry 评价)
]
BY_ACTION = {(t.source, t.action): t for t in TRANSITIONS}


class IllegalTransition(ValueError):
    """The action is not allowed from the case's status (or not for this role)."""

    def __init__(self, status: str, action: str, allowed: list[str], reason: str) -> None:
        super().__init__(reason)
        self.status, self.action, self.allowed = status, action, allowed


def allowed_actions(status: str, role: str | None = None) -> list[str]:
    """Actions possible from `status` (for `role` when given)."""
    return [t.action for t in TRANSITIONS
            if t.source == status and (role is None or role in t.roles)]


def next_status(status: str, action: str, role: str) -> Transition:
    """The transition for `action` from `status` by `role`, or IllegalTransition."""
    transition = BY_ACTION.get((status, action))
    if transition is None:
        raise IllegalTransition(status, action, allowed_actions(status),
                                f"'{action}' is not allowed from '{status}'")
    if role not in transition.roles:
        raise IllegalTransition(status, action, allowed_actions(status, role),
                                f"role '{role}' may not '{action}'")
    return transition
