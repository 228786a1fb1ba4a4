"""The resolved members table (trainlab.members): one column per per-member value, resolved once."""
from __future__ import annotations

import pytest
import torch

from trainlab.config import build_config
from trainlab.errors import UsageError
from trainlab.members import Member, member_config, resolve_members
from trainlab.runner import build_optimizer, build_population


def _cfg(optim: str = "momentum"):
    return build_config({
        "optim": {"name": optim, "lr": 0.05, "weight_decay": 0.01},
        "model": {"init": {"scheme": "normal", "std": 0.2}, "dropout": {"hidden": 0.1}},
        "regularize": {"l2": 0.003},
        "population": {"seeds": 2, "grid": {"model.init.std": [0.5, 1.0], "optim.lr": [0.1, 0.3]},
                       "zip": {"data.scale": [2.0], "model.dropout.input": [0.2]}},
    })


def test_every_column_holds_each_members_own_value_else_the_configs() -> None:
    cfg = _cfg()
    table = resolve_members(cfg)
    assert len(table) == 8 and [m.id for m in table.members] == list(range(8)) and table.seeds == [0, 1] * 4
    assert table.init_scheme == ("normal",) * 8
    assert table.init_scale.tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0]
    assert table.optim["lr"].tolist() == pytest.approx([0.1, 0.1, 0.3, 0.3] * 2)
    assert table.optim["momentum"].tolist() == [pytest.approx(0.9)] * 8  # the optimizer's default
    assert table.optim["weight_decay"].tolist() == [pytest.approx(0.01)] * 8
    assert set(table.optim) == {"lr", "momentum", "weight_decay"}
    assert table.data_scale.tolist() == [2.0] * 8 and table.data_offset.tolist() == [0.0] * 8
    assert table.dropout_input.tolist() == [pytest.approx(0.2)] * 8
    assert table.dropout_hidden.tolist() == [pytest.approx(0.1)] * 8
    assert table.l1.tolist() == [0.0] * 8 and table.l2.tolist() == [pytest.approx(0.003)] * 8
    assert all(col.dtype == torch.float32 for col in (table.l1, table.data_scale, *table.optim.values()))


def test_adam_columns_and_scheme_per_member() -> None:
    cfg = build_config({"optim": {"name": "adam"}, "population": {"zip": {
        "model.init.scheme": ["normal", "kaiming_normal"], "model.init.gain": [1.0, 2.0]}}})
    table = resolve_members(cfg)
    assert table.init_scheme == ("normal", "kaiming_normal")
    assert table.init_scale.tolist() == [cfg.model.init.scale(), 2.0]
    assert set(table.optim) == {"lr", "beta1", "beta2", "eps", "weight_decay"}
    assert table.optim["beta2"].tolist() == [pytest.approx(0.999)] * 2


def test_rows_cut_every_column_alike() -> None:
    table = resolve_members(_cfg())
    part = table.rows(3, 6)
    assert [m.id for m in part.members] == [3, 4, 5] and len(part) == 3
    assert part.init_scale.tolist() == table.init_scale[3:6].tolist()
    assert part.optim["lr"].tolist() == table.optim["lr"][3:6].tolist()


def test_model_and_optimizer_read_their_columns() -> None:
    cfg = _cfg()
    table = resolve_members(cfg)
    model = build_population(cfg, table, 2, 2)
    assert torch.equal(model.p_input, table.dropout_input) and torch.equal(model.input_scale, table.data_scale)
    opt = build_optimizer(cfg, table, model.parameters())
    assert torch.equal(opt.hp["lr"], table.optim["lr"])
    # a member built alone from its single-model config starts from the same weights
    k = 5
    alone = build_population(member_config(cfg, table.members[k]), [Member(0, table.members[k].seed)], 2, 2)
    assert torch.equal(alone.weights[0][0], model.weights[0][k])


def test_an_empty_population_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="population is empty"):
        resolve_members(build_config({"population": {"seed_list": []}}))
