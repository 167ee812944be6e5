"""vidaug.pipelines: the batch jobs, one home for what orchestrates several packages.

``augment_dataset`` (augment a dataset into a new one), ``embed_to_index`` (a dataset into a
cached FAISS index), ``curate`` (a curated dataset: splits, duplicates, hard clips, copies) and
``cross_validate`` / ``compare_cv`` (training workflows on group folds),
``find_dataset_label_errors`` (label errors from out-of-fold probabilities), ``classifier_probs``
(a trained model's evidence for hard-sample mining), ``plan_training`` / ``train_workflow``
and ``plan_evaluation`` / ``evaluate_workflow`` (what ``vidaug train`` and ``evaluate`` run),
``export_classifier`` (``vidaug export``), ``search_index`` (``vidaug search``),
``start_tensorflow`` (TensorFlow started with its start-up noise muted);
``check_output_file`` / ``check_output_dir`` / ``split_shares`` / ``seed_list`` (a job's
outputs and option text checked before any work) and the text summaries of the jobs' results that
``vidaug`` prints (``curation_lines``, ``training_line``, …, with the wording rules ``plural``,
``human_size``, ``one_line``, ``os_error_line``).
Each job's per-clip work is a pure function of (manifest row, settings), so the CLI and a
distributed engine can call the same names. Names load on first use: ``import
vidaug.pipelines`` imports no FAISS and no TensorFlow.
"""

from __future__ import annotations

from vidaug._lazy import lazy_names

_WHERE = {
    "AugmentJob": "_augment",
    "AugmentSummary": "_augment",
    "augment_dataset": "_augment",
    "augment_row": "_augment",
    "check_engine": "_ray",
    "ray_session": "_ray",
    "default_workers": "_workers",
    "CurationResult": "_curate",
    "curate": "_curate",
    "EmbedReport": "_embed",
    "embed_to_index": "_embed",
    "query_sampling": "_embed",
    "classifier_probs": "_hard",
    "CVResult": "_cross_validate",
    "compare_cv": "_cross_validate",
    "cross_validate": "_cross_validate",
    "feature_bank": "_cross_validate",
    "row_groups": "_cross_validate",
    "DEFAULT_LABEL_ERROR_WORKFLOW": "_label_errors",
    "find_dataset_label_errors": "_label_errors",
    "label_error_probs": "_label_errors",
    "EvalPlan": "_workflows",
    "TrainPlan": "_workflows",
    "build_for_training": "_workflows",
    "cv_config": "_workflows",
    "evaluate_workflow": "_workflows",
    "model_class_names": "_workflows",
    "plan_evaluation": "_workflows",
    "plan_training": "_workflows",
    "rows_in_split": "_workflows",
    "train_workflow": "_workflows",
    "dedup_config": "_mining",
    "require_embedded": "_mining",
    "search_index": "_mining",
    "augment_lines": "_summaries",
    "compare_text": "_summaries",
    "curation_failure_lines": "_summaries",
    "curation_lines": "_summaries",
    "dedup_lines": "_summaries",
    "embed_line": "_summaries",
    "embed_summary": "_summaries",
    "epoch_logger": "_summaries",
    "evaluation_text": "_summaries",
    "export_lines": "_summaries",
    "failure_lines": "_summaries",
    "hard_lines": "_summaries",
    "human_size": "_summaries",
    "interrupted_line": "_summaries",
    "no_regions_note": "_summaries",
    "one_line": "_summaries",
    "os_error_line": "_summaries",
    "plural": "_summaries",
    "preview_lines": "_summaries",
    "recipes_listing": "_summaries",
    "search_tables": "_summaries",
    "skipped_lines": "_summaries",
    "training_announcement": "_summaries",
    "training_line": "_summaries",
    "training_summary": "_summaries",
    "unread_lines": "_summaries",
    "weights_dict": "_summaries",
    "weights_lines": "_summaries",
    "workflow_text": "_summaries",
    "workflows_listing": "_summaries",
    "export_classifier": "_export",
    "start_tensorflow": "_tensorflow",
    "check_output_dir": "_preflight",
    "check_output_file": "_preflight",
    "seed_list": "_preflight",
    "split_shares": "_preflight",
}

__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_names("vidaug.pipelines", _WHERE)
