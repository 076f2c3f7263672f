"""Runtime predictive models: the registry of trained artefacts and the scorers that load them."""

from advisor.predict.registry import ModelVersion, Registry, Stage, data_hash
from advisor.predict.score import Score

__all__ = ["ModelVersion", "Registry", "Score", "Stage", "data_hash"]
