"""Evaluation: ``metrics`` (per-task scores, curves, tables, safe CSV), ``ranking`` (GAUC,
NDCG@k, Hit@k per user), ``headline`` (the one summary metric per task kind)."""
from .headline import HEADLINE, headline, headline_value

__all__ = ["HEADLINE", "headline", "headline_value"]
