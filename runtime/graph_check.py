"""Check a loaded graph against what its metadata says, before the first name is generated.

    check_graph(session, metadata, "model.onnx")     # ModelFileError in one line, or nothing

The metadata (contract.py) is parsed and checked on its own; this checks it against the graph itself:
the widths the graph declares (contract.check_graph_shapes), then one step of one row, from the
metadata's initial state, whose outputs must have the widths the metadata gives. A hand-edited file whose
vocabulary, state or receptive field disagrees with its graph is refused here, not turned into a
traceback or silently wrong names later.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort

from .common.errors import ModelFileError, first_line
from .contract import (
    GRAPH_STEP,
    INPUT_STATE,
    INPUT_TOKENS,
    OUTPUT_LOGITS,
    OUTPUT_STATE,
    ModelMetadata,
    check_graph_shapes,
    newest_name,
    step_feeds,
)
from .vocab import BOUNDARY_ID

__all__ = ["check_graph"]


def check_graph(session: ort.InferenceSession, metadata: ModelMetadata, where: str = "model") -> None:
    """ModelFileError when the graph's input/output widths differ from the metadata's, or when one step
    from the metadata's initial state does not run."""
    check_graph_shapes(metadata, session.get_inputs(), session.get_outputs(), where)
    if metadata.graph == GRAPH_STEP:
        assert metadata.initial_state is not None  # from_props sets it for every step graph
        tokens, state = np.array([BOUNDARY_ID], dtype=np.int64), metadata.initial_state[None].astype(np.float32)
        if metadata.format_version == 1:
            feeds: dict[str, np.ndarray] = {INPUT_TOKENS: tokens, INPUT_STATE: state}  # [1], [1, S]
            names, want = [OUTPUT_LOGITS, OUTPUT_STATE], [(1, metadata.config.vocab_size), (1, metadata.state_size)]
        else:  # format 2: the queues' oldest vectors in, the newest out, [1, C] each
            feeds = step_feeds(metadata.config, tokens, state)
            layers = range(len(metadata.config.layer_dilations))
            names = [OUTPUT_LOGITS] + [newest_name(layer) for layer in layers]
            want = [(1, metadata.config.vocab_size)] + [(1, metadata.config.channels) for _ in layers]
    else:
        feeds = {INPUT_TOKENS: np.full((1, metadata.receptive_field), BOUNDARY_ID, dtype=np.int64)}  # [1, R]
        names, want = [OUTPUT_LOGITS], [(1, metadata.config.vocab_size)]
    try:
        outputs = session.run(names, feeds)
    except Exception as err:  # onnxruntime's own exception types
        raise ModelFileError(f"{where}: the graph does not run one step as its metadata describes it: "
                             f"{first_line(err)}") from None
    for name, array, shape in zip(names, outputs, want, strict=True):
        if array.shape != shape:
            raise ModelFileError(f"{where}: one step gives {name} of shape {list(array.shape)}; the metadata "
                                 f"implies {list(shape)}")
