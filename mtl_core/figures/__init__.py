"""Pure Plotly figure builders for MTL Lab (no Streamlit).

Every builder returns a ``plotly.graph_objects.Figure`` with a title and axis titles (the
architecture diagram hides its axes) so that the pages only call ``st.plotly_chart``. Inputs
are the JSON-safe structures produced by ``mtl_core.evaluation.metrics`` and the trainer's history
frames; builders never mutate their inputs and cope with empty inputs (an annotated empty
figure instead of an exception).
"""
from .architecture import architecture_diagram
from .classification import metric_bars, confusion_heatmap, roc_curves, pr_curves, calibration_plot, ranking_bars
from .export import onnx_parity
from .data import missing_bar, distribution, label_balance
from .lab import (correlation_lab_plot, correlation_task_plot, gate_columns, gate_heatmap, grad_cosine_heatmap,
                  paired_difference_bars, pareto_plot, transfer_plot)
from .regression import pred_vs_actual, residuals_hist
from .side_by_side import correlations_side_by_side, sweeps_side_by_side, transfers_side_by_side
from .training import loss_curves, task_weights_over_time, grad_norms_over_time, cosine_over_time, runs_overlay

__all__ = [
    "loss_curves",
    "task_weights_over_time",
    "grad_norms_over_time",
    "cosine_over_time",
    "runs_overlay",
    "metric_bars",
    "confusion_heatmap",
    "roc_curves",
    "pr_curves",
    "calibration_plot",
    "ranking_bars",
    "pred_vs_actual",
    "residuals_hist",
    "missing_bar",
    "distribution",
    "label_balance",
    "grad_cosine_heatmap",
    "gate_heatmap",
    "pareto_plot",
    "correlation_lab_plot",
    "correlation_task_plot",
    "gate_columns",
    "paired_difference_bars",
    "transfer_plot",
    "architecture_diagram",
    "onnx_parity",
    "sweeps_side_by_side",
    "correlations_side_by_side",
    "transfers_side_by_side",
]
