"""wavenet_edge.runtime.common: the shared core that `train` and `export` build on (pure Python, no onnxruntime).

    errors.py    domain errors (WavenetEdgeError and its kinds); only CLIs turn them into one line
    files.py     reading inputs (read_bytes) and writing outputs atomically (atomic_path, check_output_path)
    dataset.py   one-item-per-line data files, the lecture's train/val/test split, file fingerprints
    commands.py  the click command class every wn-* command uses (one-line errors, exit codes)

It lives inside the runtime because the runtime needs it too and imports run one way
(export -> train -> runtime); nothing here imports onnxruntime, torch, train or export.
"""
