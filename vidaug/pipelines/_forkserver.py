"""Imported once, in the fork server of ``augment``'s worker pool (its preload), never
elsewhere: the server dies with the vidaug process that started it (Linux
``PR_SET_PDEATHSIG``), so its workers, which die with the server, never outlive a killed run;
and vidaug is imported once for every worker forked from it."""

from vidaug.pipelines._augment import _die_with_parent

_die_with_parent()
