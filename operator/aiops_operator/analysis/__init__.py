"""Root-cause analysis: the rule-based analyzer, the LLM analyzer and the one entry point both share.

Pure layer: no Kopf here, and the `openai` SDK only in `analysis.llm`. The
operator and `aiops-rca analyze` both call `analysis.service.analyze`.
"""

from aiops_operator.analysis.request import AnalysisRequest, SourceFamily

__all__ = ["AnalysisRequest", "SourceFamily"]
