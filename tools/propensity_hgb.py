"""Gradient boosting that Stop can end between boosting iterations.

:class:`StoppableHGB` is scikit-learn's ``HistGradientBoostingClassifier`` unchanged, except that
each iteration's early-stopping check first asks :func:`tools.progress.check_cancelled` — one fit
can take seconds, and Stop should free the server within a step. Its own module, imported only
when a model is trained (scikit-learn loads slowly), so saved models name a stable class path.
"""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier

from tools.progress import check_cancelled


class StoppableHGB(HistGradientBoostingClassifier):
    """``HistGradientBoostingClassifier`` whose fit stops at the next iteration after Stop
    (with ``early_stopping`` on and the default ``scoring="loss"``, the check runs every iteration)."""

    def _check_early_stopping_loss(self, *args: Any, **kwargs: Any) -> Any:
        check_cancelled()
        return super()._check_early_stopping_loss(*args, **kwargs)
