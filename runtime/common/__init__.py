"""wavenet_edge.runtime.common: the shared core that `train` and `export` build on (pure Python, no onnxruntime).

    errors.py      domain errors (WavenetEdgeError and its kinds, each with its exit status); first_line()
    files.py       reading inputs (read_bytes); output paths checked before work (check_output_path) and
                   written atomically (atomic_path, temporaries named .NAME.PID.tmp)
    dataset.py     one-item-per-line data files, the lecture's train/val/test split, file fingerprints
    commands.py    the command factory every wn-* command is built with (command(): -h, one-line errors,
                   exit statuses, Ctrl-C, closed pipes) and the option ranges the commands share
    launch.py      console-script entry points that import their command lazily (Ctrl-C and a missing
                   `train` extra during start-up); standard library only
    interrupts.py  telling a Ctrl-C from a failure inside code that catches every Exception
    version.py     the installed package version

It lives inside the runtime because the runtime needs it too and imports run one way
(export -> train -> runtime); nothing here imports onnxruntime, torch, train or export.
"""
