"""Imported once, in the fork server of ``augment``'s worker pool (its preload, see
:func:`vidaug.pipelines._workers.pool_context`), never elsewhere: the server dies with the
vidaug process that started it (Linux ``PR_SET_PDEATHSIG``), so its workers, which die with
the server, never outlive a killed run; and the augment job is imported once for every worker
forked from it."""

import vidaug.pipelines._augment  # noqa: F401 - preloaded: every worker forks with it imported
from vidaug.pipelines._workers import die_with_parent

die_with_parent()
