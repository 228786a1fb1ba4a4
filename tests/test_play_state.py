"""The playground's page state: presets, the lab structures beyond the controls' limits, values that
arrive as URL strings, and the export that `trainlab train` reads back into the same config."""
from __future__ import annotations

import pytest
import yaml

from trainlab.config import build_config
from trainlab.members import expand_members
from trainlab.play import state as st


@pytest.mark.parametrize("name", list(st.PRESETS))
def test_presets_validate_and_export_round_trip(name):
    s, raw, cfg = st.validate(st.preset_state(name))
    assert len(expand_members(cfg)) <= st.LIMITS.members
    text = st.export_yaml(raw)
    assert build_config(yaml.safe_load(text)) == cfg
    back = yaml.safe_load(text)
    assert back["train"]["steps"] == s["steps"] and back["train"]["eval_every"] == s["eval_every"]
    assert back["population"]["seeds"] == s["seeds"]


def test_lab_structures_are_the_only_exceptions_to_the_limits():
    beyond = [p["state"]["hidden"] for p in st.PRESETS.values()
              if len(p["state"]["hidden"]) > st.LIMITS.layers or max(p["state"]["hidden"]) > st.LIMITS.width]
    assert sorted(map(tuple, beyond)) == sorted({(100,) * 20, (256, 256)})
    for hidden in beyond:
        st.validate(st.DEFAULTS | {"hidden": hidden})
    for hidden in ([256, 255], [100] * 21, [256, 256, 2]):
        with pytest.raises(st.StateError, match="playground's"):
            st.validate(st.DEFAULTS | {"hidden": hidden})


def test_url_strings_are_read_as_the_controls_types():
    s, raw, cfg = st.validate({"lr": "0.05", "hidden": "8, 4", "seeds": "3", "vary": "lr", "values": "0.1,0.2",
                               "batch": "20", "points": "40"})
    assert s["lr"] == 0.05 and s["hidden"] == [8, 4] and s["seeds"] == 3 and s["values"] == [0.1, 0.2]
    assert cfg.train.batch_size == 20 and cfg.population.grid == {"optim.lr": [0.1, 0.2]}
    s, _, cfg = st.validate({"vary": "init", "values": "xavier_normal, he_normal"})
    assert cfg.population.grid == {"model.init.scheme": ["xavier_normal", "he_normal"]}
    for bad in ({"seeds": "2.5"}, {"hidden": "8, x"}, {"lr": True}, {"hidden": [1.5]}):
        with pytest.raises(st.StateError):
            st.validate(bad)


def test_noise_goes_to_each_generators_own_parameter():
    for dataset, param in st.NOISE_PARAM.items():
        _, raw, cfg = st.validate({"dataset": dataset, "noise": 0.2})
        assert cfg.data.params == {param: 0.2}
