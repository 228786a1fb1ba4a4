"""Settings of the augmentation study (seed 002): random shifts of at most 2 pixels, done live.

The data and split are the dropout study's (``DropoutSettings``: its dataset, sizes, run seed and
batch size), so the two studies' numbers are on the same digits. Defaults fit the lab's time
budget on 2 CPU cores; ``quick()`` is a first look.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from trainlab.errors import UsageError
from trainlab.experiments.dropout.settings import DATASETS, DropoutSettings
from trainlab.experiments.settings import StudySettings

_DROPOUT = DropoutSettings()
ARMS = {"none": "no augmentation", "shift": "random shifts"}  # arm -> label; "shift" uses max_shift


@dataclass(frozen=True)
class AugmentationSettings(StudySettings):
    """One run: the dropout study's data, a small MLP, and the shift bound."""

    STUDY = "augmentation"

    dataset: str = _DROPOUT.dataset  # the dropout study's: auto = MNIST, else the bundled mnist-5k (said)
    data_dir: Optional[str] = None  # a folder with the IDX files (else $TRAINLAB_DATA)
    n_train: int = _DROPOUT.n_train  # the dropout study's split (mnist-5k caps it at 3,500 / 1,000)
    n_val: int = _DROPOUT.n_val
    run_seed: int = _DROPOUT.run_seed  # the split's seed, and with each member seed every random stream
    batch_size: int = _DROPOUT.batch_size
    seeds: int = 8  # per arm, paired: seed s has the same init and the same shuffles with and without shifts
    max_shift: int = 2  # pixels in each direction, uniform in -2..2 per image and step; no flips
    hidden: tuple[int, ...] = (128,)  # 784-128-10: the 784-800-800-10 net costs 10x; 128 units overfit 3,500 digits
    epochs: int = 20  # the unaugmented net reaches 0 training error by epoch ~10 (measured); shifts need longer
    lr: float = 2e-3  # AdamW (the dropout study's optimizer) at a rate that converges within 20 epochs
    weight_decay: float = 0.01  # torch.optim.AdamW's default, as the dropout study
    examples: int = 8  # images shown with their shifted versions

    @classmethod
    def quick(cls) -> "AugmentationSettings":
        """3 seeds, 6 epochs, 784-64-10: a first look in a few seconds."""
        return cls(preset="quick", seeds=3, epochs=6, hidden=(64,))

    def check(self) -> None:
        self.at_least(1, "n_train", "n_val", "batch_size", "epochs", "hidden", "examples")
        self.at_least(0, "max_shift")
        self.at_least(2, "seeds")
        self.one_of("dataset", dict.fromkeys(DATASETS))
        if not (self.lr > 0 and self.weight_decay >= 0):
            raise UsageError(f"augmentation study: need lr > 0, weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        if self.max_shift > 13:
            raise UsageError(f"augmentation study: max_shift must be <= 13 (half a 28-pixel image), got {self.max_shift}")
