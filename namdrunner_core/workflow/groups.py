"""Any stored group by its id, as its own class: a workflow as :class:`Workflow`, a sweep as :class:`Sweep`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from namdrunner_core.workflow.sweep import Sweep
from namdrunner_core.workflow.workflow import Workflow

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

#: the class of each group kind (:attr:`GroupRecord.kind`)
GROUP_CLASSES: dict[str, type[Workflow]] = {Workflow.KIND: Workflow, Sweep.KIND: Sweep}


def load_group(session: Session, store: JobStore, group_id: str) -> Workflow:
    """A stored workflow or sweep by its EXACT id, as the right class."""
    group = store.get_workflow(group_id)
    return GROUP_CLASSES[group.kind](session, store, group)
