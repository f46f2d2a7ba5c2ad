"""wavenet-edge: train a character-level WaveNet in PyTorch, export it to one .onnx file, run it with ONNX Runtime.

The sub-packages are the repository's top-level folders, linked here so that `wavenet_edge.*` resolves in a
plain checkout, in an install and for type checkers alike:

    wavenet_edge.runtime   run an exported model (numpy + onnxruntime + click; no torch)
    wavenet_edge.train     models, training loop, checkpoints, data download (torch)
    wavenet_edge.export    checkpoint -> verified .onnx file (torch, onnx)
    wavenet_edge.models    the shipped default model (data only)
"""
